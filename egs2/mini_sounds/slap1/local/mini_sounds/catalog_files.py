"""Curated labels and caption phrases of the recordings shipped as files in Debian packages.

Every entry was written after reading the package's credits and looking at the recording's
spectrogram; a file whose sound could not be described honestly is listed in a ``*_SKIPPED``
table with the reason instead. Files that are in neither table are skipped as
"not in the catalog", so a package update cannot slip an unchecked caption in.
"""

from typing import Dict, NamedTuple


class Described(NamedTuple):
    """Class label, caption clause and gerund form of one recording.

    ``level_db`` < 0 marks a softly played sound: it keeps a lower peak than the others.
    """

    label: str
    phrase: str
    gerund: str
    level_db: float = 0.0


SOFT_DB = -12.0  # peak of a "softly" played sound relative to a "loudly" played one


def _d(label: str, phrase: str, gerund: str, level_db: float = 0.0) -> Described:
    return Described(label, phrase, gerund, level_db)


# ---------------------------------------------------------------- tuxpaint-stamps-default
# key: stamp file name without ".ogg" (the folder is irrelevant)
TUXPAINT: Dict[str, Described] = {
    "frog": _d("frog", "a frog croaks", "a frog croaking"),
    "blackbird": _d("blackbird", "a blackbird sings", "a blackbird singing"),
    "crow": _d("crow", "a crow caws", "a crow cawing"),
    "cuckoo": _d("cuckoo", "a cuckoo calls", "a cuckoo calling"),
    "drake": _d("duck", "a drake quacks", "a drake quacking"),
    "duck": _d("duck", "a duck quacks", "a duck quacking"),
    "gander": _d("goose", "a goose honks", "a goose honking"),
    "hen": _d("chicken", "a hen clucks", "a hen clucking"),
    "rooster": _d("chicken", "a rooster crows", "a rooster crowing"),
    "heron_greatblue_flying": _d("heron", "a heron squawks", "a heron squawking"),
    "lark": _d("lark", "a lark sings", "a lark singing"),
    "owl": _d("owl", "an owl hoots", "an owl hooting"),
    "penguin": _d("penguin", "a penguin calls", "a penguin calling"),
    "quetzal": _d("quetzal", "a quetzal calls", "a quetzal calling"),
    "seagull": _d("seagull", "a seagull cries", "a seagull crying"),
    "tucan": _d("toucan", "a toucan calls", "a toucan calling"),
    "turkey": _d("turkey", "a turkey gobbles", "a turkey gobbling"),
    "vulture": _d("vulture", "a vulture calls", "a vulture calling"),
    "bee": _d("bee", "a bee buzzes", "a bee buzzing"),
    "grasshopper": _d("grasshopper", "a grasshopper chirps", "a grasshopper chirping"),
    "hornet": _d("hornet", "a hornet buzzes", "a hornet buzzing"),
    "mosquito": _d("mosquito", "a mosquito whines", "a mosquito whining"),
    "chimp": _d("chimpanzee", "a chimpanzee calls", "a chimpanzee calling"),
    "gorilla": _d("gorilla", "a gorilla grunts", "a gorilla grunting"),
    "dolphin": _d("dolphin", "a dolphin whistles", "a dolphin whistling"),
    "orca": _d("orca", "an orca calls", "an orca calling"),
    "sea_lion": _d("sea lion", "a sea lion barks", "a sea lion barking"),
    "whale": _d("whale", "a whale sings", "a whale singing"),
    "badger": _d("badger", "a badger growls", "a badger growling"),
    "beaver": _d("beaver", "a beaver calls", "a beaver calling"),
    "bear": _d("bear", "a bear growls", "a bear growling"),
    "bison": _d("bison", "a bison grunts", "a bison grunting"),
    "bull": _d("cattle", "a bull bellows", "a bull bellowing"),
    "cow": _d("cattle", "a cow moos", "a cow mooing"),
    "cow_white": _d("cattle", "a cow moos", "a cow mooing"),
    "goat": _d("goat", "a goat bleats", "a goat bleating"),
    "mountaingoat": _d("goat", "a mountain goat bleats", "a mountain goat bleating"),
    "ram": _d("sheep", "a ram bleats", "a ram bleating"),
    "sheep": _d("sheep", "a sheep bleats", "a sheep bleating"),
    "sheep_lamb": _d("sheep", "a lamb bleats", "a lamb bleating"),
    "camel": _d("camel", "a camel groans", "a camel groaning"),
    "dromedary": _d("camel", "a dromedary groans", "a dromedary groaning"),
    "lion": _d("lion", "a lion roars", "a lion roaring"),
    "tiger": _d("tiger", "a tiger growls", "a tiger growling"),
    "caribou": _d("deer", "a caribou grunts", "a caribou grunting"),
    "deer": _d("deer", "a deer calls", "a deer calling"),
    "doe": _d("deer", "a doe calls", "a doe calling"),
    "dog": _d("dog", "a dog barks", "a dog barking"),
    "fox": _d("fox", "a fox barks", "a fox barking"),
    "elephant": _d("elephant", "an elephant trumpets", "an elephant trumpeting"),
    "donkey": _d("donkey", "a donkey brays", "a donkey braying"),
    "horse": _d("horse", "a horse neighs", "a horse neighing"),
    "zebra": _d("zebra", "a zebra calls", "a zebra calling"),
    "ferret": _d("ferret", "a ferret chatters", "a ferret chattering"),
    "hippopotamus": _d("hippopotamus", "a hippopotamus grunts", "a hippopotamus grunting"),
    "pig": _d("pig", "a pig oinks", "a pig oinking"),
    "pig_golden": _d("pig", "a pig squeals", "a pig squealing"),
    "pig_golden2": _d("pig", "a pig squeals", "a pig squealing"),
    "mouse": _d("mouse", "a mouse squeaks", "a mouse squeaking"),
    "rabbit": _d("rabbit", "a rabbit squeals", "a rabbit squealing"),
    "koala": _d("koala", "a koala bellows", "a koala bellowing"),
    "apple_red": _d("crunching", "someone bites into a crunchy apple",
                    "someone biting into a crunchy apple"),
    "camera_35mm": _d("camera shutter", "a camera shutter clicks", "a camera shutter clicking"),
    "cymbal_crash": _d("cymbal", "a crash cymbal is struck", "a crash cymbal being struck"),
    "drum_tomtom_floor": _d("tom drum", "a floor tom drum is struck",
                            "a floor tom drum being struck"),
    "drumkit": _d("drum kit", "a drum kit plays a rock beat", "a drum kit playing a rock beat"),
    "cello": _d("cello", "a cello plays a long note", "a cello playing a long note"),
    "violin": _d("violin", "a violin plays a note with vibrato",
                 "a violin playing a note with vibrato"),
    "bassoon": _d("bassoon", "a bassoon plays trills", "a bassoon playing trills"),
    "Washing-machine": _d("washing machine", "a washing machine runs",
                          "a washing machine running"),
    "scissors_small_closed": _d("scissors", "scissors snip", "scissors snipping"),
    "scissors_small_open": _d("scissors", "scissors snip", "scissors snipping"),
    "rubberduck": _d("squeaky toy", "a rubber duck squeaks", "a rubber duck squeaking"),
    "toilet": _d("toilet flush", "a toilet flushes", "a toilet flushing"),
    "hammer": _d("hammer", "a hammer strikes", "a hammer striking"),
    "mallet_metal": _d("hammer", "a metal mallet strikes", "a metal mallet striking"),
    "saw": _d("sawing", "a saw cuts back and forth", "a saw cutting back and forth"),
    "vacuum_cleaner": _d("vacuum cleaner", "a vacuum cleaner runs", "a vacuum cleaner running"),
    "lightningbolt": _d("thunder", "thunder crashes", "thunder crashing"),
    "santahat": _d("jingle bells", "sleigh bells jingle", "sleigh bells jingling"),
    "bat_left": _d("bat", "a bat squeaks", "a bat squeaking"),
    "blackcat": _d("cat", "a cat meows", "a cat meowing"),
    "fireworks": _d("fireworks", "fireworks explode", "fireworks exploding"),
    "checkeredflag": _d("race car", "a race car speeds past", "a race car speeding past"),
    "firetruck": _d("fire truck", "a fire truck blares", "a fire truck blaring"),
}

TUXPAINT_SPEECH: Dict[str, Described] = {
    "apollo_lander": _d("male speech", "a man speaks over a crackling radio",
                        "a man speaking over a crackling radio"),
}

TUXPAINT_SKIPPED: Dict[str, str] = {
    **{name: "the file is silent" for name in ("nandou", "iguana", "giraffe", "wombat")},
    "xanthia": "a moth: the sound is a short unidentifiable chirp",
    "squirrel": "broadband noise, not clearly a squirrel call",
    "bottle": "an onset and faint noise, unclear what the bottle does",
    "glass": "tonal noise, unclear whether clinking, ringing or pouring",
    "kettle": "quiet clicks and noise, unclear",
    "final-roll-call": "a brass call whose instrument cannot be named with confidence",
    "gift": "rhythmic noise, unclear what makes it",
    "hard_candy": "a cartoon sweep, not a sound of candy",
    "ghost": "a cartoon 'woo'",
    "spider": "cartoon clicks",
    "dreydl-gimmel": "a short spoken word without a transcript",
    "dreydl-hay": "a short spoken word without a transcript",
    "dreydl-nun": "a short spoken word without a transcript",
    "dreydl-shin": "a short spoken word without a transcript",
    "no_uturn": "a steady tone, unclear source",
    "xing_ped": "a steady tone, unclear source",
    "xing_school": "repeated chirps, unclear source",
    "bathyscape": "a tone with one ping, unclear source",
}

TUXPAINT_LICENCE = "GPL-2+ (tuxpaint-stamps-default, debian/copyright)"

# ---------------------------------------------------------------------- sonic-pi-samples
_KICK = ("bass drum", "a kick drum thumps", "a kick drum thumping")
_SNARE = ("snare drum", "a snare drum cracks", "a snare drum cracking")
_SYNTH_BASS = ("synth bass", "a synthesizer bass plays a low note",
               "a synthesizer bass playing a low note")
_TABLA = ("tabla", "a tabla is struck", "a tabla being struck")
_LOW_TABLA = ("tabla", "a low tabla stroke booms", "a low tabla stroke booming")
_BREAKBEAT = ("drum loop", "a drummer plays a breakbeat", "a drummer playing a breakbeat")
_ELECTRO_LOOP = ("drum loop", "an electronic drum loop plays", "an electronic drum loop playing")
_BLIP = ("electronic beep", "an electronic blip sounds", "an electronic blip sounding")
_ROBOT = ("robot sound", "a robot beeps and chirps", "a robot beeping and chirping")

SONIC_PI: Dict[str, Described] = {
    "ambi_choir": _d("choir", "a choir sings a chord", "a choir singing a chord"),
    "ambi_dark_woosh": _d("whoosh", "a dark whoosh sweeps past", "a dark whoosh sweeping past"),
    "ambi_drone": _d("drone", "a low drone hums", "a low drone humming"),
    "ambi_glass_hum": _d("singing glass", "a glass hums with a ringing tone",
                         "a glass humming with a ringing tone"),
    "ambi_glass_rub": _d("singing glass", "a finger rubs the rim of a glass",
                         "a finger rubbing the rim of a glass"),
    "ambi_haunted_hum": _d("drone", "an eerie hum drones on", "an eerie hum droning on"),
    "ambi_lunar_land": _d("whoosh", "a deep rumbling whoosh fades away",
                          "a deep rumbling whoosh fading away"),
    "ambi_piano": _d("piano", "a piano plays soft ambient notes",
                     "a piano playing soft ambient notes"),
    "ambi_soft_buzz": _d("buzz", "something buzzes softly", "something buzzing softly"),
    "ambi_swoosh": _d("whoosh", "a swoosh passes by", "a swoosh passing by"),
    "bass_dnb_f": _d(*_SYNTH_BASS),
    "bass_drop_c": _d("synth bass", "a synthesizer bass note drops in pitch",
                      "a synthesizer bass note dropping in pitch"),
    "bass_hard_c": _d(*_SYNTH_BASS),
    "bass_hit_c": _d(*_SYNTH_BASS),
    "bass_thick_c": _d(*_SYNTH_BASS),
    "bass_trance_c": _d(*_SYNTH_BASS),
    "bass_voxy_c": _d("synth bass", "a voice-like synthesizer bass plays a low note",
                      "a voice-like synthesizer bass playing a low note"),
    "bass_voxy_hit_c": _d(*_SYNTH_BASS),
    "bass_woodsy_c": _d(*_SYNTH_BASS),
    **{name: _d(*_KICK) for name in (
        "bd_808", "bd_ada", "bd_boom", "bd_fat", "bd_gas", "bd_haus", "bd_klub",
        "bd_mehackit", "bd_pure", "bd_sone", "bd_tek", "bd_zome", "bd_zum",
        "elec_soft_kick", "elec_hollow_kick")},
    "drum_bass_hard": _d("bass drum", "a bass drum is hit loudly", "a bass drum being hit loudly"),
    "drum_bass_soft": _d("bass drum", "a bass drum is hit softly", "a bass drum being hit softly",
                         SOFT_DB),
    "drum_heavy_kick": _d("bass drum", "a heavy kick drum thumps", "a heavy kick drum thumping"),
    "drum_cowbell": _d("cowbell", "a cowbell is struck", "a cowbell being struck"),
    "drum_cymbal_closed": _d("hi-hat", "a closed hi-hat ticks", "a closed hi-hat ticking"),
    "drum_cymbal_pedal": _d("hi-hat", "a hi-hat is closed with the pedal",
                            "a hi-hat being closed with the pedal"),
    "drum_cymbal_open": _d("hi-hat", "an open hi-hat sizzles", "an open hi-hat sizzling"),
    "drum_cymbal_hard": _d("cymbal", "a cymbal is hit loudly", "a cymbal being hit loudly"),
    "drum_cymbal_soft": _d("cymbal", "a cymbal is hit softly", "a cymbal being hit softly",
                           SOFT_DB),
    "drum_splash_hard": _d("cymbal", "a splash cymbal is hit loudly",
                           "a splash cymbal being hit loudly"),
    "drum_splash_soft": _d("cymbal", "a splash cymbal is hit softly",
                           "a splash cymbal being hit softly", SOFT_DB),
    "drum_roll": _d("drum roll", "a drummer plays a drum roll", "a drummer playing a drum roll"),
    "drum_snare_hard": _d("snare drum", "a snare drum is hit loudly",
                          "a snare drum being hit loudly"),
    "drum_snare_soft": _d("snare drum", "a snare drum is hit softly",
                          "a snare drum being hit softly", SOFT_DB),
    **{f"drum_tom_{pitch}_{force}": _d(
        "tom drum", f"a {word} tom drum is hit {adverb}",
        f"a {word} tom drum being hit {adverb}", 0.0 if force == "hard" else SOFT_DB)
       for pitch, word in (("hi", "high"), ("mid", "middle"), ("lo", "low"))
       for force, adverb in (("hard", "loudly"), ("soft", "softly"))},
    **{name: _d(*_SNARE) for name in ("sn_dolf", "sn_dub", "sn_generic", "sn_zome")},
    **{name: _d("snare drum", "an electronic snare drum hits", "an electronic snare drum hitting")
       for name in ("elec_snare", "elec_lo_snare", "elec_mid_snare", "elec_hi_snare",
                    "elec_filt_snare")},
    "elec_fuzz_tom": _d("tom drum", "a fuzzy electronic tom drum hits",
                        "a fuzzy electronic tom drum hitting"),
    "elec_cymbal": _d("cymbal", "an electronic cymbal crashes", "an electronic cymbal crashing"),
    "elec_triangle": _d("triangle", "an electronic triangle rings",
                        "an electronic triangle ringing"),
    "elec_chime": _d("chime", "an electronic chime rings", "an electronic chime ringing"),
    "elec_wood": _d("wood block", "an electronic wood block clicks",
                    "an electronic wood block clicking"),
    "elec_beep": _d("electronic beep", "an electronic beep sounds",
                    "an electronic beep sounding"),
    **{name: _d(*_BLIP) for name in ("elec_blip", "elec_blip2", "elec_blup", "elec_plip",
                                     "elec_twip")},
    "elec_ping": _d("electronic beep", "an electronic ping sounds", "an electronic ping sounding"),
    "elec_pop": _d("electronic beep", "a short electronic pop sounds",
                   "a short electronic pop sounding"),
    "elec_bong": _d("electronic beep", "an electronic bong sounds", "an electronic bong sounding"),
    "elec_bell": _d("electronic beep", "an electronic bell dings", "an electronic bell dinging"),
    "elec_twang": _d("electronic beep", "an electronic twang sounds",
                     "an electronic twang sounding"),
    "elec_flip": _d("electronic beep", "an electronic flip sounds", "an electronic flip sounding"),
    "elec_tick": _d("electronic beep", "an electronic tick sounds", "an electronic tick sounding"),
    **{f"glitch_perc{i}": _d("glitch", "glitchy electronic percussion clicks",
                             "glitchy electronic percussion clicking") for i in range(1, 6)},
    "glitch_bass_g": _d("synth bass", "a glitchy synthesizer bass note plays",
                        "a glitchy synthesizer bass note playing"),
    "glitch_robot1": _d(*_ROBOT),
    "glitch_robot2": _d(*_ROBOT),
    **{f"mehackit_robot{i}": _d(*_ROBOT) for i in range(1, 8)},
    "guit_e_fifths": _d("guitar", "a guitar plays fifths", "a guitar playing fifths"),
    "guit_e_slide": _d("guitar", "a guitar slides between notes",
                       "a guitar sliding between notes"),
    "guit_em9": _d("guitar", "a guitar plays a minor chord", "a guitar playing a minor chord"),
    "guit_harmonics": _d("guitar", "a guitar plays harmonics", "a guitar playing harmonics"),
    "loop_amen": _d(*_BREAKBEAT),
    "loop_amen_full": _d(*_BREAKBEAT),
    "loop_breakbeat": _d(*_BREAKBEAT),
    "loop_safari": _d("drum loop", "a percussion loop plays", "a percussion loop playing"),
    **{name: _d(*_ELECTRO_LOOP) for name in (
        "loop_compus", "loop_garzul", "loop_industrial", "loop_mika", "loop_electric",
        "loop_mehackit1", "loop_mehackit2", "loop_perc1", "loop_perc2", "loop_weirdo")},
    "loop_tabla": _d("tabla", "a tabla plays a rhythm", "a tabla playing a rhythm"),
    "loop_3d_printer": _d("3d printer", "a 3d printer whirs rhythmically",
                          "a 3d printer whirring rhythmically"),
    "loop_drone_g_97": _d("drone", "a synthesizer drone hums", "a synthesizer drone humming"),
    "misc_burp": _d("burp", "a person burps", "a person burping"),
    "misc_cineboom": _d("boom", "a deep cinematic boom rumbles", "a deep cinematic boom rumbling"),
    "misc_crow": _d("crow", "a crow caws", "a crow cawing"),
    "perc_bell": _d("bell", "a bell rings", "a bell ringing"),
    "perc_bell2": _d("bell", "a bell rings out", "a bell ringing out"),
    "perc_impact1": _d("thud", "a heavy object thuds", "a heavy object thudding"),
    "perc_impact2": _d("thud", "a heavy object thuds", "a heavy object thudding"),
    "perc_snap": _d("finger snap", "fingers snap", "fingers snapping"),
    "perc_snap2": _d("finger snap", "fingers snap", "fingers snapping"),
    "perc_swoosh": _d("whoosh", "a swoosh passes by", "a swoosh passing by"),
    "perc_till": _d("cash register", "a cash register dings open",
                    "a cash register dinging open"),
    **{name: _d(*_LOW_TABLA) for name in (f"tabla_ghe{i}" for i in range(1, 9))},
    **{name: _d(*_TABLA) for name in (
        "tabla_dhec", "tabla_ke1", "tabla_ke2", "tabla_ke3", "tabla_na", "tabla_na_o",
        "tabla_na_s", "tabla_re", "tabla_tas1", "tabla_tas2", "tabla_tas3", "tabla_te1",
        "tabla_te2", "tabla_te_m", "tabla_te_ne", "tabla_tun1", "tabla_tun2", "tabla_tun3")},
    "vinyl_backspin": _d("vinyl record", "a vinyl record spins backwards",
                         "a vinyl record spinning backwards"),
    "vinyl_hiss": _d("vinyl record", "a vinyl record crackles and hisses",
                     "a vinyl record crackling and hissing"),
    "vinyl_rewind": _d("vinyl record", "a vinyl record is rewound", "a vinyl record being rewound"),
    "vinyl_scratch": _d("vinyl record", "a dj scratches a vinyl record",
                        "a dj scratching a vinyl record"),
}

SONIC_PI_SKIPPED: Dict[str, str] = {
    **{f"mehackit_phone{i}": "percussive noise, unclear what a 'phone' does here"
       for i in range(1, 5)},
    "perc_door": "an impact with ringing, unclear whether a door",
    "perc_swash": "a short noise burst",
    "ambi_sauna": "steady noise, unclear source",
}

SONIC_PI_LICENCE = "CC0-1.0 (freesound.org, per sonic-pi samples/README.md)"

# ------------------------------------------------------------------ sound-theme-freedesktop
# key: file name without ".oga"; licences per file from debian/copyright further below
FREEDESKTOP: Dict[str, Described] = {
    "alarm-clock-elapsed": _d("alarm clock", "an alarm clock beeps", "an alarm clock beeping"),
    "camera-shutter": _d("camera shutter", "a camera shutter clicks", "a camera shutter clicking"),
    "screen-capture": _d("camera shutter", "a camera shutter clicks",
                         "a camera shutter clicking"),
    "complete": _d("chime", "a chime rings", "a chime ringing"),
    "phone-incoming-call": _d("telephone ringing", "a telephone rings", "a telephone ringing"),
    "phone-outgoing-busy": _d("telephone tone", "a telephone busy signal beeps",
                              "a telephone busy signal beeping"),
    "phone-outgoing-calling": _d("telephone tone", "a telephone ringback tone sounds",
                                 "a telephone ringback tone sounding"),
    "suspend-error": _d("electronic beep", "an electronic beep repeats",
                        "an electronic beep repeating"),
}

FREEDESKTOP_CHANNEL_WORDS = {
    f"audio-channel-{position}-{side}": f"{position} {side}"
    for position, sides in (("front", ("left", "center", "right")),
                            ("rear", ("left", "center", "right")),
                            ("side", ("left", "right")))
    for side in sides
}

FREEDESKTOP_LICENCES: Dict[str, str] = {
    "alarm-clock-elapsed": "CC-BY-SA-3.0 (Tim/corsica_s)",
    "camera-shutter": "CC-BY-SA-3.0 (freesound user horsthorstensen)",
    "screen-capture": "CC-BY-SA-3.0 (freesound user horsthorstensen)",
    "complete": "CC-BY-3.0 (Dr. Richard Boulanger et al)",
    "phone-incoming-call": "GPL-2+ (Damien Sandras)",
    "phone-outgoing-busy": "GPL-2+ (Damien Sandras)",
    "phone-outgoing-calling": "GPL-2+ (Damien Sandras)",
    "suspend-error": "CC-BY-SA-3.0 (Red Hat, Inc.)",
    **{name: "GPL-2+ (The ALSA developers)" for name in FREEDESKTOP_CHANNEL_WORDS},
}

# ------------------------------------------------------------------ asterisk-core-sounds-en
# prompts whose transcript is a bracketed sound description rather than speech
ASTERISK_SOUNDS: Dict[str, Described] = {
    "beep": _d("electronic beep", "a short beep sounds", "a short beep sounding"),
    "beeperr": _d("electronic beep", "an error beep sounds", "an error beep sounding"),
    "ascending-2tone": _d("electronic beep", "two tones rise in pitch",
                          "two tones rising in pitch"),
    "descending-2tone": _d("electronic beep", "two tones fall in pitch",
                           "two tones falling in pitch"),
    "tt-monkeys": _d("monkey", "monkeys scream", "monkeys screaming"),
}

ASTERISK_LICENCE = "CC-BY-SA-3.0 (recorded by Allison Smith, Digium)"

# the translated sets: these prompts are tones or sound effects, not speech; the English
# package's copies (ASTERISK_SOUNDS) already cover them
ASTERISK_TONE_PROMPTS = frozenset({"beep", "beeperr", "ascending-2tone", "descending-2tone",
                                   "tt-monkeys", "confbridge-join", "confbridge-leave"})


class AsteriskVoice(NamedTuple):
    """One translated set of the Asterisk core prompts.

    Attributes:
        lang: language code of the Debian packages (``asterisk-core-sounds-<lang>[-wav]``).
        folder: prompt folder below ``usr/share/asterisk/sounds``.
        language: language name as the captions write it.
        speaker: caption subject ("a woman", "a man").
        licence: licence and speaker, from the package's copyright file.
    """

    lang: str
    folder: str
    language: str
    speaker: str
    licence: str


ASTERISK_VOICES = (
    AsteriskVoice("es", "es_MX_f_Allison", "spanish", "a woman",
                  "CC-BY-SA-3.0 (recorded by Allison Smith, Digium)"),
    AsteriskVoice("fr", "fr_CA_f_June", "french", "a woman",
                  "CC-BY-SA-3.0 (recorded by June Wallack)"),
    AsteriskVoice("it", "it_IT_m_Carlo", "italian", "a man",
                  "CC-BY-3.0 (recorded by Carlo Flora)"),
    AsteriskVoice("ru", "ru_RU_f_IvrvoiceRU", "russian", "a woman",
                  "CC-BY-3.0 (provided by Maxim Topal, ivrvoice.ru)"),
)

# ---------------------------------------------------------------------- openttd-opensfx
# key: index of the sound in opensfx.cat (its entry names the sound, the original recording
# and the licence). One sound per original recording (several sounds are edits of one
# recording; they would otherwise land in different splits), and only sounds whose original
# is a recording of what the name says; cartoon mixes ("Toyland"), splats, jingles, sounds
# without a credited original and the lion roar (the original is "elaine-growl.wav") are left
# out (OPENSFX_SKIPPED lists the reason of each).
OPENSFX: Dict[int, Described] = {
    4: _d("train whistle", "a steam train whistle blows", "a steam train whistle blowing"),
    6: _d("ship horn", "a ship horn blows", "a ship horn blowing"),
    7: _d("ship horn", "a ferry horn blows", "a ferry horn blowing"),
    8: _d("propeller plane", "a small propeller plane starts its engine",
          "a small propeller plane starting its engine"),
    9: _d("jet plane", "a passenger jet takes off", "a passenger jet taking off"),
    10: _d("train horn", "a locomotive horn sounds in the distance",
           "a locomotive horn sounding in the distance"),
    12: _d("electric spark", "electric sparks crackle and buzz",
           "electric sparks crackling and buzzing"),
    14: _d("railroad crossing", "a railroad crossing bell rings",
           "a railroad crossing bell ringing"),
    24: _d("helicopter", "a helicopter flies", "a helicopter flying"),
    25: _d("engine", "an engine starts and a vehicle pulls away",
           "an engine starting and a vehicle pulling away"),
    27: _d("bus", "a bus pulls away", "a bus pulling away"),
    29: _d("applause", "an audience applauds", "an audience applauding"),
    33: _d("jackhammer", "a jackhammer pounds", "a jackhammer pounding"),
    35: _d("car horn", "a car horn honks", "a car horn honking"),
    36: _d("sheep", "sheep bleat in a field", "sheep bleating in a field"),
    37: _d("cattle", "a cow moos", "a cow mooing"),
    38: _d("horse", "a horse neighs", "a horse neighing"),
    39: _d("hammer", "a blacksmith hammers metal", "a blacksmith hammering metal"),
    40: _d("circular saw", "a circular saw cuts wood", "a circular saw cutting wood"),
    46: _d("bubbles", "water bubbles", "water bubbling"),
    52: _d("wind", "the wind blows", "the wind blowing"),
    54: _d("falling tree", "a tree falls with a crash", "a tree falling with a crash"),
    56: _d("chainsaw", "a chainsaw runs", "a chainsaw running"),
    59: _d("jet plane", "a jet roars past", "a jet roaring past"),
    61: _d("jet plane", "jets roar overhead", "jets roaring overhead"),
    65: _d("train", "a metro train pulls away", "a metro train pulling away"),
    66: _d("bird", "a tropical bird calls", "a tropical bird calling"),
    68: _d("monkey", "a monkey screams", "a monkey screaming"),
    69: _d("propeller plane", "a propeller plane engine roars",
           "a propeller plane engine roaring"),
    71: _d("train", "a train passes by", "a train passing by"),
    72: _d("bird", "a tropical bird calls", "a tropical bird calling"),
}

OPENSFX_SKIPPED: Dict[int, str] = {
    **{i: "a jingle or effect made by the editor, no credited recording"
       for i in (0, 1, 3, 13, 18, 20, 21, 22, 30, 31, 47)},
    **{i: "an edit of the same original recording as another kept sound"
       for i in (5, 19, 26, 41, 45, 57, 60, 62, 64, 70)},
    **{i: "a cartoon splat or a mix of unrelated originals"
       for i in (2, 32, 42, 43, 44, 48, 49, 51, 53, 58, 63)},
    11: "the original is an elevator, the sound is used as mining machinery",
    15: "the original drops a large gun: unclear what is heard",
    16: "the original is 'Dumpster_Diving.wav': unclear what is heard",
    17: "the original 'crash.wav' is not described",
    23: "a 0.16 s cut of a car skid",
    28: "the original 't_start1.mp3' is not described",
    55: "the original 'cutting_tree.wav' does not say how the tree is cut",
    67: "the original is 'elaine-growl.wav', possibly a person imitating a lion",
    34: "an empty placeholder", 50: "an empty placeholder",
}

OPENSFX_LICENCE = "CC-BY-SA-3.0 (OpenSFX 1.0.3, openttd-opensfx)"
