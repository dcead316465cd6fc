"""What the synthesizers render: General MIDI instruments, drums and duets (fluidsynth with
the FluidR3_GM and TimGM6mb soundfonts) and short sentences spoken by espeak-ng, festival and
flite voices.

Each rendering is its own source recording; its caption is exact because the renderer is
told what to play or say.
"""

from typing import NamedTuple, Tuple


class Instrument(NamedTuple):
    """A melodic General MIDI program.

    Attributes:
        program: 0-based GM program number.
        label: class label ("trumpet").
        subject: caption subject ("a trumpet").
        notes: (low, middle, high) MIDI note numbers inside the instrument's usual range.
        verb, verb_ing: how the subject makes the notes ("plays"/"playing", "sings"/"singing").
        chords: the instrument can play a chord (keyboards, plucked strings, choir, ...).
    """

    program: int
    label: str
    subject: str
    notes: Tuple[int, int, int]
    verb: str = "plays"
    verb_ing: str = "playing"
    chords: bool = False


class DrumSound(NamedTuple):
    """A General MIDI percussion key on channel 10.

    Attributes:
        key: MIDI note number of the drum.
        label: class label.
        subject: caption subject ("a snare drum", "someone").
        verb: present-tense verb for the subject ("is hit", "claps").
        verb_ing: gerund form of ``verb`` ("being hit", "clapping").
    """

    key: int
    label: str
    subject: str
    verb: str
    verb_ing: str


class SoundFont(NamedTuple):
    """A General MIDI soundfont that a Debian package ships.

    Attributes:
        tag: prefix of the source ids of its renderings ("fluid").
        path: the .sf2 file below the source root.
        package: Debian package that ships it.
        licence: licence of the soundfont, from the package's copyright file.
        skip_programs: programs left out because their rendering sounds like another
            soundfont's (a shared original recording would leak across splits) or is silent.
    """

    tag: str
    path: str
    package: str
    licence: str
    skip_programs: frozenset = frozenset()


INSTRUMENTS: Tuple[Instrument, ...] = (
    Instrument(0, "piano", "a piano", (36, 60, 84), chords=True),
    Instrument(4, "electric piano", "an electric piano", (41, 60, 77), chords=True),
    Instrument(6, "harpsichord", "a harpsichord", (41, 60, 79), chords=True),
    Instrument(8, "celesta", "a celesta", (60, 72, 84), chords=True),
    Instrument(9, "glockenspiel", "a glockenspiel", (72, 84, 96)),
    Instrument(10, "music box", "a music box", (60, 72, 84), chords=True),
    Instrument(11, "vibraphone", "a vibraphone", (53, 65, 77), chords=True),
    Instrument(12, "marimba", "a marimba", (48, 60, 72), chords=True),
    Instrument(13, "xylophone", "a xylophone", (65, 77, 89)),
    Instrument(14, "tubular bells", "tubular bells", (60, 67, 74), "play"),
    Instrument(15, "dulcimer", "a hammered dulcimer", (48, 60, 72), chords=True),
    Instrument(16, "organ", "an electric organ", (48, 60, 72), chords=True),
    Instrument(19, "organ", "a church organ", (36, 60, 79), chords=True),
    Instrument(21, "accordion", "an accordion", (53, 65, 77), chords=True),
    Instrument(22, "harmonica", "a harmonica", (60, 67, 79)),
    Instrument(24, "guitar", "an acoustic guitar", (40, 55, 71), chords=True),
    Instrument(25, "guitar", "a steel-string guitar", (40, 55, 71), chords=True),
    Instrument(27, "guitar", "an electric guitar", (40, 55, 71), chords=True),
    Instrument(30, "guitar", "a distorted electric guitar", (40, 52, 64), chords=True),
    Instrument(32, "double bass", "a plucked double bass", (28, 40, 52)),
    Instrument(33, "bass guitar", "a bass guitar", (28, 40, 52)),
    Instrument(40, "violin", "a violin", (55, 69, 86)),
    Instrument(41, "viola", "a viola", (48, 62, 76)),
    Instrument(42, "cello", "a cello", (36, 50, 64)),
    Instrument(43, "double bass", "a bowed double bass", (28, 36, 48)),
    Instrument(45, "string section", "plucked strings", (48, 60, 72), "play", chords=True),
    Instrument(46, "harp", "a harp", (40, 60, 84), chords=True),
    Instrument(47, "timpani", "a timpani", (40, 45, 52)),
    Instrument(48, "string section", "a string section", (48, 60, 72), chords=True),
    Instrument(52, "choir", "a choir", (48, 60, 72), "sings", "singing", chords=True),
    Instrument(56, "trumpet", "a trumpet", (55, 67, 79)),
    Instrument(57, "trombone", "a trombone", (40, 52, 64)),
    Instrument(58, "tuba", "a tuba", (28, 36, 48)),
    Instrument(59, "trumpet", "a muted trumpet", (55, 67, 79)),
    Instrument(60, "french horn", "a french horn", (41, 53, 65)),
    Instrument(64, "saxophone", "a soprano saxophone", (56, 68, 80)),
    Instrument(65, "saxophone", "a saxophone", (49, 61, 73)),
    Instrument(66, "saxophone", "a tenor saxophone", (44, 56, 68)),
    Instrument(68, "oboe", "an oboe", (60, 72, 84)),
    Instrument(70, "bassoon", "a bassoon", (34, 46, 58)),
    Instrument(71, "clarinet", "a clarinet", (50, 62, 74)),
    Instrument(72, "piccolo", "a piccolo", (74, 86, 98)),
    Instrument(73, "flute", "a flute", (60, 74, 88)),
    Instrument(74, "recorder", "a recorder", (60, 72, 84)),
    Instrument(75, "pan flute", "a pan flute", (60, 72, 84)),
    Instrument(77, "shakuhachi", "a shakuhachi", (55, 67, 79)),
    Instrument(79, "ocarina", "an ocarina", (60, 72, 84)),
    Instrument(104, "sitar", "a sitar", (48, 60, 72)),
    Instrument(105, "banjo", "a banjo", (48, 60, 72), chords=True),
    Instrument(106, "shamisen", "a shamisen", (48, 60, 72)),
    Instrument(107, "koto", "a koto", (48, 60, 72), chords=True),
    Instrument(108, "kalimba", "a kalimba", (60, 72, 84), chords=True),
    Instrument(109, "bagpipe", "a bagpipe", (55, 62, 69)),
    Instrument(110, "violin", "a fiddle", (55, 69, 81)),
    Instrument(111, "shehnai", "a shehnai", (60, 67, 79)),
    Instrument(114, "steel drum", "a steel drum", (55, 67, 79)),
    Instrument(116, "taiko drum", "a taiko drum", (36, 43, 50)),
)

DRUMS: Tuple[DrumSound, ...] = (
    DrumSound(36, "bass drum", "a bass drum", "is hit", "being hit"),
    DrumSound(38, "snare drum", "a snare drum", "is hit", "being hit"),
    DrumSound(39, "hand clap", "someone", "claps", "clapping"),
    DrumSound(41, "tom drum", "a low tom drum", "is hit", "being hit"),
    DrumSound(48, "tom drum", "a high tom drum", "is hit", "being hit"),
    DrumSound(42, "hi-hat", "a closed hi-hat", "is hit", "being hit"),
    DrumSound(44, "hi-hat", "a pedal hi-hat", "is closed", "being closed"),
    DrumSound(46, "hi-hat", "an open hi-hat", "is hit", "being hit"),
    DrumSound(49, "cymbal", "a crash cymbal", "is hit", "being hit"),
    DrumSound(51, "cymbal", "a ride cymbal", "is hit", "being hit"),
    DrumSound(52, "cymbal", "a chinese cymbal", "is hit", "being hit"),
    DrumSound(55, "cymbal", "a splash cymbal", "is hit", "being hit"),
    DrumSound(54, "tambourine", "a tambourine", "is struck", "being struck"),
    DrumSound(56, "cowbell", "a cowbell", "is struck", "being struck"),
    DrumSound(58, "vibraslap", "a vibraslap", "rattles", "rattling"),
    DrumSound(60, "bongo", "a high bongo", "is hit", "being hit"),
    DrumSound(61, "bongo", "a low bongo", "is hit", "being hit"),
    DrumSound(63, "conga", "a high conga", "is hit", "being hit"),
    DrumSound(64, "conga", "a low conga", "is hit", "being hit"),
    DrumSound(65, "timbales", "a high timbale", "is hit", "being hit"),
    DrumSound(66, "timbales", "a low timbale", "is hit", "being hit"),
    DrumSound(67, "agogo", "a high agogo bell", "is struck", "being struck"),
    DrumSound(68, "agogo", "a low agogo bell", "is struck", "being struck"),
    DrumSound(69, "cabasa", "a cabasa", "is shaken", "being shaken"),
    DrumSound(70, "maracas", "maracas", "are shaken", "being shaken"),
    DrumSound(73, "guiro", "a guiro", "is scraped", "being scraped"),
    DrumSound(75, "claves", "claves", "are struck", "being struck"),
    DrumSound(76, "wood block", "a wood block", "is struck", "being struck"),
    DrumSound(79, "cuica", "a cuica", "squeaks", "squeaking"),
    DrumSound(81, "triangle", "a triangle", "is struck", "being struck"),
)

FLUID_LICENCE = "MIT (FluidR3_GM soundfont by Frank Wen, fluid-soundfont-gm)"
TIMGM_LICENCE = "GPL-2 (TimGM6mb soundfont by Tim Brechbill, timgm6mb-soundfont)"

SOUNDFONTS: Tuple[SoundFont, ...] = (
    SoundFont("fluid", "usr/share/sounds/sf2/FluidR3_GM.sf2", "fluid-soundfont-gm",
              FLUID_LICENCE),
    # electric piano, marimba, harp and piccolo render almost sample-identically to FluidR3's
    # (cross-correlation >= 0.85 at the middle note): left out, as a shared original would
    # be heard in more than one split
    SoundFont("timgm", "usr/share/sounds/sf2/TimGM6mb.sf2", "timgm6mb-soundfont",
              TIMGM_LICENCE, frozenset({4, 12, 46, 72})),
)

# two-instrument renderings: (lower instrument's program, upper instrument's program); the
# lower one holds a long note while the upper one plays three rising notes, or both play one
# note together. Each pair is rendered with every soundfont that has both programs.
DUETS: Tuple[Tuple[int, int], ...] = (
    (42, 73), (42, 40), (42, 71), (0, 40), (0, 73), (0, 56), (19, 56), (19, 60),
    (33, 24), (33, 65), (58, 56), (58, 60), (70, 68), (70, 71), (47, 56), (32, 11),
    (24, 74), (46, 73), (48, 68), (21, 22), (6, 41), (16, 65), (43, 40), (57, 71),
    (105, 110), (107, 77), (104, 111), (15, 75), (12, 79), (0, 71),
)
DUET_LABEL = "two instruments"  # no single class: left out of the zero-shot label set

# (espeak-ng voice, caption subject); each sentence is spoken by exactly one voice
ESPEAK_VOICES: Tuple[Tuple[str, str], ...] = (
    ("en-us", "a synthetic male voice"),
    ("en-us+f2", "a synthetic female voice"),
    ("en-gb", "a synthetic male voice"),
    ("en-gb+f4", "a synthetic female voice"),
    ("en-gb-scotland", "a synthetic male voice"),
    ("en-029+f3", "a synthetic female voice"),
)

ESPEAK_SENTENCES: Tuple[str, ...] = (
    "the train leaves at seven",
    "please close the window",
    "the coffee is still hot",
    "my bicycle has a flat tire",
    "the garden needs more water",
    "we will meet by the river",
    "turn left at the next corner",
    "the library opens at nine",
    "this soup needs a little salt",
    "the children are playing outside",
    "it might rain this afternoon",
    "the red car is parked outside",
    "please speak a little slower",
    "the museum is closed on monday",
    "she bought three green apples",
    "the baby is finally asleep",
    "the meeting starts in ten minutes",
    "do not forget your umbrella",
    "the bread smells wonderful",
    "the bus is running late today",
    "he plays the violin every evening",
    "the lake froze last winter",
    "put the books on the top shelf",
    "the printer is out of paper",
    "we watched the stars all night",
    "the dog wants to go for a walk",
    "the shop sells fresh fish",
    "the kettle is boiling",
    "please lock the door when you leave",
    "the snow melted in the morning",
    "the phone battery is almost empty",
    "we need two more chairs",
    "the film was too long",
    "the birds are singing in the trees",
    "the bridge is closed for repairs",
    "my sister lives by the sea",
    "the cake is in the oven",
    "the wind blew the hat away",
    "the answer is forty two",
    "the lights went out at midnight",
    "the tea is too sweet",
    "the market is busy on saturday",
    "please write your name here",
    "the old clock stopped at noon",
    "the farmer fed the horses",
    "the plane landed safely",
    "the paint on the wall is still wet",
    "our team won the final game",
)

ESPEAK_LICENCE = "GPL-3+ (espeak-ng); sentences written for this corpus"

# festival voices (the voice_<name> function) and flite's built-in voices, each with its caption
# subject; every sentence of TTS_SENTENCES is spoken once, by one of them
FESTIVAL_VOICES: Tuple[Tuple[str, str], ...] = (
    ("kal_diphone", "a synthetic male voice"),
    ("ked_diphone", "a synthetic male voice"),
    ("cmu_us_slt_arctic_hts", "a synthetic female voice"),
)
FLITE_VOICES: Tuple[Tuple[str, str], ...] = (
    ("awb", "a synthetic male voice"),
    ("rms", "a synthetic male voice"),
    ("slt", "a synthetic female voice"),
)
SENTENCES_PER_VOICE = 50

FESTIVAL_LICENCES = {
    "kal_diphone": "BSD-style (festival and festvox-kallpc16k: CSTR, Alan W Black, Kevin Lenzo)",
    "ked_diphone": "BSD-style (festival and festvox-kdlpc16k: CSTR, University of Edinburgh)",
    "cmu_us_slt_arctic_hts": "BSD-style (festival; festvox-us-slt-hts: CMU, EST-2003)",
}
FLITE_LICENCE = "BSD-style (flite: Carnegie Mellon University)"

# TTS sentences: subject + predicate, each pair at most once (tts_sentence)
_TTS_SUBJECTS = (
    "my neighbour", "the old farmer", "our teacher", "the little girl", "a tall man",
    "the tired doctor", "my brother", "the young pilot", "her grandmother", "the new student",
    "a quiet boy", "the baker", "his uncle", "the street musician", "the old fisherman",
    "my sister", "the school cook", "the police officer", "my best friend", "the taxi driver",
    "the shy painter", "a famous singer", "the bus driver", "the night nurse",
)
_TTS_PREDICATES = (
    "is waiting at the station", "walked home in the rain", "likes warm bread",
    "lost a blue umbrella", "sings in the kitchen", "reads the paper every morning",
    "is afraid of thunder", "found a coin on the beach", "painted the fence green",
    "sleeps after lunch", "wants a cup of tea", "plays chess on sundays",
    "forgot the keys again", "is learning to swim", "laughed at the joke",
    "moved to a small village", "waved from the window", "bought a new bicycle",
    "never eats fish", "is looking for the map", "knocked on the wrong door",
    "fixed the old radio", "waters the plants at night", "missed the last train",
    "writes long letters",
)
MAX_TTS_SENTENCES = len(_TTS_SUBJECTS) * len(_TTS_PREDICATES)


def tts_sentence(index: int) -> str:
    """The ``index``-th generated sentence; distinct for 0 <= index < MAX_TTS_SENTENCES.

    Subject ``index % S`` with predicate ``(7 * (index // S) + index % S) % P``: for a fixed
    subject the predicates of consecutive rounds differ (7 is invertible modulo P = 25).
    """
    if not 0 <= index < MAX_TTS_SENTENCES:
        raise IndexError(f"sentence {index} outside 0..{MAX_TTS_SENTENCES - 1}")
    subjects, predicates = len(_TTS_SUBJECTS), len(_TTS_PREDICATES)
    subject = index % subjects
    predicate = (7 * (index // subjects) + subject) % predicates
    return f"{_TTS_SUBJECTS[subject]} {_TTS_PREDICATES[predicate]}"
