"""What the synthesizers render: General MIDI instruments and drums (fluidsynth with the
FluidR3_GM soundfont) and short sentences spoken by espeak-ng voices.

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
    """

    program: int
    label: str
    subject: str
    notes: Tuple[int, int, int]
    verb: str = "plays"
    verb_ing: str = "playing"


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


INSTRUMENTS: Tuple[Instrument, ...] = (
    Instrument(0, "piano", "a piano", (36, 60, 84)),
    Instrument(6, "harpsichord", "a harpsichord", (41, 60, 79)),
    Instrument(9, "glockenspiel", "a glockenspiel", (72, 84, 96)),
    Instrument(11, "vibraphone", "a vibraphone", (53, 65, 77)),
    Instrument(12, "marimba", "a marimba", (48, 60, 72)),
    Instrument(13, "xylophone", "a xylophone", (65, 77, 89)),
    Instrument(14, "tubular bells", "tubular bells", (60, 67, 74), "play"),
    Instrument(16, "organ", "an electric organ", (48, 60, 72)),
    Instrument(19, "organ", "a church organ", (36, 60, 79)),
    Instrument(21, "accordion", "an accordion", (53, 65, 77)),
    Instrument(22, "harmonica", "a harmonica", (60, 67, 79)),
    Instrument(24, "guitar", "an acoustic guitar", (40, 55, 71)),
    Instrument(30, "guitar", "a distorted electric guitar", (40, 52, 64)),
    Instrument(33, "bass guitar", "a bass guitar", (28, 40, 52)),
    Instrument(40, "violin", "a violin", (55, 69, 86)),
    Instrument(42, "cello", "a cello", (36, 50, 64)),
    Instrument(46, "harp", "a harp", (40, 60, 84)),
    Instrument(47, "timpani", "a timpani", (40, 45, 52)),
    Instrument(52, "choir", "a choir", (48, 60, 72), "sings", "singing"),
    Instrument(56, "trumpet", "a trumpet", (55, 67, 79)),
    Instrument(57, "trombone", "a trombone", (40, 52, 64)),
    Instrument(58, "tuba", "a tuba", (28, 36, 48)),
    Instrument(60, "french horn", "a french horn", (41, 53, 65)),
    Instrument(65, "saxophone", "a saxophone", (49, 61, 73)),
    Instrument(68, "oboe", "an oboe", (60, 72, 84)),
    Instrument(70, "bassoon", "a bassoon", (34, 46, 58)),
    Instrument(71, "clarinet", "a clarinet", (50, 62, 74)),
    Instrument(73, "flute", "a flute", (60, 74, 88)),
    Instrument(75, "pan flute", "a pan flute", (60, 72, 84)),
    Instrument(104, "sitar", "a sitar", (48, 60, 72)),
    Instrument(105, "banjo", "a banjo", (48, 60, 72)),
    Instrument(108, "kalimba", "a kalimba", (60, 72, 84)),
    Instrument(114, "steel drum", "a steel drum", (55, 67, 79)),
)

DRUMS: Tuple[DrumSound, ...] = (
    DrumSound(36, "bass drum", "a bass drum", "is hit", "being hit"),
    DrumSound(38, "snare drum", "a snare drum", "is hit", "being hit"),
    DrumSound(39, "hand clap", "someone", "claps", "clapping"),
    DrumSound(41, "tom drum", "a low tom drum", "is hit", "being hit"),
    DrumSound(48, "tom drum", "a high tom drum", "is hit", "being hit"),
    DrumSound(42, "hi-hat", "a closed hi-hat", "is hit", "being hit"),
    DrumSound(46, "hi-hat", "an open hi-hat", "is hit", "being hit"),
    DrumSound(49, "cymbal", "a crash cymbal", "is hit", "being hit"),
    DrumSound(51, "cymbal", "a ride cymbal", "is hit", "being hit"),
    DrumSound(54, "tambourine", "a tambourine", "is struck", "being struck"),
    DrumSound(56, "cowbell", "a cowbell", "is struck", "being struck"),
    DrumSound(60, "bongo", "a bongo", "is hit", "being hit"),
    DrumSound(63, "conga", "a conga", "is hit", "being hit"),
    DrumSound(70, "maracas", "maracas", "are shaken", "being shaken"),
    DrumSound(75, "claves", "claves", "are struck", "being struck"),
    DrumSound(76, "wood block", "a wood block", "is struck", "being struck"),
    DrumSound(81, "triangle", "a triangle", "is struck", "being struck"),
)

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

FLUID_LICENCE = "MIT (FluidR3_GM soundfont by Frank Wen, fluid-soundfont-gm)"
ESPEAK_LICENCE = "GPL-3+ (espeak-ng); sentences written for this corpus"
