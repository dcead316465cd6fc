"""Caption templates: the same facts (which sounds, in which order) in different wordings."""

from typing import List, Sequence, Tuple

Event = Tuple[str, str]  # (clause "a dog barks", gerund "a dog barking")


def sequential(events: Sequence[Event]) -> str:
    """"a dog barks, then a bell rings"."""
    return ", then ".join(phrase for phrase, _ in events)


def enumerated(events: Sequence[Event]) -> str:
    """"first a dog barks, next a cat meows, and finally a bell rings"."""
    phrases = [phrase for phrase, _ in events]
    if len(phrases) == 1:
        return phrases[0]
    if len(phrases) == 2:
        return f"first {phrases[0]}, and then {phrases[1]}"
    middle = "".join(f", {'next' if i == 1 else 'then'} {phrase}"
                     for i, phrase in enumerate(phrases[1:-1], start=1))
    return f"first {phrases[0]}{middle}, and finally {phrases[-1]}"


def nominal(events: Sequence[Event]) -> str:
    """"the sound of a dog barking, followed by a bell ringing, then a cat meowing"."""
    gerunds = [gerund for _, gerund in events]
    text = f"the sound of {gerunds[0]}"
    if len(gerunds) > 1:
        text += f", followed by {gerunds[1]}"
    return text + "".join(f", then {gerund}" for gerund in gerunds[2:])


def heard(events: Sequence[Event]) -> str:
    """"a dog barking can be heard" (single events only)."""
    return f"{events[0][1]} can be heard"


def reference_captions(events: Sequence[Event]) -> List[str]:
    """2-3 distinct, equally honest captions of a clip whose events play in this order."""
    if not events:
        raise ValueError("a clip needs at least one event")
    templates = (sequential, nominal, heard) if len(events) == 1 else (sequential, enumerated,
                                                                         nominal)
    captions: List[str] = []
    for template in templates:
        caption = template(events)
        if caption not in captions:
            captions.append(caption)
    return captions
