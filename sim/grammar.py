"""Instrument grammars: how each family of instrument reads the text it is sent.

pyvisa-sim matches a message byte for byte, so a device file alone answers one
spelling of each command. Real instruments are more forgiving, each in its own
way, and drivers written by others use whichever spelling they like. A grammar
maps every spelling an instrument accepts onto one canonical form; the live
binding puts the device file's commands and every incoming message through the
same grammar, so the device files stay the one definition of each protocol and
list each command once.

A device file names its grammar in a device-level ``grammar:`` key (plain
pyvisa-sim ignores it)::

    grammar:
      kind: scpi                       # scpi | sr830 | lakeshore | oxford | exact
      keywords: [MAGnet, PSwitch]      # SCPI keywords whose short form breaks the rule
      optional: [STATe, LEVel]         # SCPI nodes that may be left out

The grammars:

``scpi`` (Keithley 2400, AMI 430)
    Keywords in long or short form (``:SOURce:CURRent``), any case, leading colon
    optional; ``;`` joins commands and a header without a leading colon is
    relative to the previous one (``:SOUR:CURR 1e-6;VOLT 2`` sets
    ``:SOUR:VOLT``); optional nodes may be left out (``:OUTP:STAT?`` =
    ``:OUTP?``); unquoted character parameters too take long or short forms
    (``:ROUT:TERM FRONT``) and ``ON``/``OFF`` mean ``1``/``0``. The short form of
    a keyword is its first four letters, or three when the fourth is a vowel
    (IEEE 488.2); ``keywords`` lists the exceptions. (Like most parsers built on
    that rule, an abbreviation between the short and the long form is accepted
    too; the real instruments refuse it.)
``sr830``
    Mnemonics in any case; spaces anywhere are insignificant (``OUTP? 1`` =
    ``OUTP?1``, ``SRAT ?``); parameters separated by commas; ``;`` joins commands.
``lakeshore`` (Model 336, 372)
    Any case outside quotes; optional space between ``?`` and the first parameter;
    spaces around the commas between parameters are insignificant; ``;`` joins
    commands where the file's delimiter allows it.
``oxford`` (Mercury iPS, Triton)
    The ``READ:``/``SET:`` trees, byte for byte as the firmware compares them; a
    command the instrument does not know is answered, as the real ones do, by the
    command's path ending in ``:INVALID`` (or ``:NOT_FOUND`` for a device that is
    not fitted), never by silence.
``exact``
    pyvisa-sim's own rule: byte for byte.
"""

from __future__ import annotations

import re
from typing import Any

VOWELS = frozenset("AEIOU")
_CACHE_SIZE = 4096


class GrammarError(ValueError):
    """A device file's ``grammar:`` section is not understood."""


def _split_outside_quotes(text: str, sep: str) -> list[str]:
    if '"' not in text and "'" not in text:
        return text.split(sep)
    parts, current, quote = [], [], None
    for ch in text:
        if quote:
            current.append(ch)
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
            current.append(ch)
        elif ch == sep:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts


_LITERAL = re.compile(r"(\"[^\"]*\"|'[^']*'|\{[^{}]*\})")


def _upper_outside_quotes(text: str) -> str:
    """Upper case, except inside quotes and inside ``{...}`` pattern fields."""
    if '"' not in text and "'" not in text and "{" not in text:
        return text.upper()
    return "".join(p if p[:1] in "\"'{" else p.upper() for p in _LITERAL.split(text))


class Grammar:
    """Byte-for-byte matching (pyvisa-sim's rule); the base of the others."""

    kind = "exact"
    #: IEEE 488.2 common commands (*STB?, *ESR?) and a serial-poll status byte
    ieee488 = False

    def __init__(self, delimiter: bytes):
        self.delimiter = delimiter
        self._cache: dict[bytes, list[bytes]] = {}

    # --- incoming messages
    def pieces(self, message: bytes) -> list[bytes]:
        """The canonical commands in one message (split at the delimiter)."""
        cached = self._cache.get(message)
        if cached is None:
            try:
                text = message.decode("ascii")
            except UnicodeDecodeError:  # no instrument command is non-ASCII: matches nothing
                return [message]
            cached = [p.encode("ascii") for p in self._canonical_message(text)]
            if len(self._cache) >= _CACHE_SIZE:
                self._cache.clear()
            self._cache[message] = cached
        return cached

    def _canonical_message(self, text: str) -> list[str]:
        delimiter = self.delimiter.decode()
        parts = _split_outside_quotes(text, delimiter) if delimiter else [text]
        return [self.canonical(p) for p in parts]

    def canonical(self, command: str) -> str:
        return command

    # --- the device file
    def pattern(self, text: str) -> str:
        """Canonical form of a device-file query or setter pattern (``{}`` fields kept)."""
        return self.canonical(text)

    def canonical_device(self, device_dict: dict) -> dict:
        """A copy of a device file's device section with every query and setter
        pattern in canonical form, ready for pyvisa-sim's own builder."""
        out = dict(device_dict)
        out["dialogues"] = [self._canonical_q(d) for d in device_dict.get("dialogues", ())]
        out["properties"] = {name: self._canonical_property(prop)
                             for name, prop in device_dict.get("properties", {}).items()}
        error = device_dict.get("error")
        if isinstance(error, dict):
            error = dict(error)
            for key in ("status_register", "error_queue"):
                if key in error:
                    error[key] = [self._canonical_q(d) for d in error[key]]
            out["error"] = error
        if "channels" in device_dict:
            out["channels"] = {name: self.canonical_device(ch) for name, ch in device_dict["channels"].items()}
        return out

    def _canonical_q(self, entry: dict) -> dict:
        return {**entry, "q": self.pattern(entry["q"].strip(" "))}

    def _canonical_property(self, prop: dict) -> dict:
        prop = dict(prop)
        for key in ("getter", "setter"):
            if key in prop:
                prop[key] = self._canonical_q(prop[key])
        return prop

    # --- errors
    def unknown_reply(self, command: bytes, known_devices: frozenset[str]) -> bytes | None:
        """What the instrument answers to a command it does not know (None = silence)."""
        return None

    @staticmethod
    def _mav_esb(device: Any) -> int:
        """IEEE 488.2 bits: MAV (bit 4) while a reply waits, ESB (bit 5) while the standard
        event register is not zero."""
        stb = 0x10 if device._output_buffers else 0
        if any(r._value for r in device._status_registers.values()):
            stb |= 0x20
        return stb

    def status_byte(self, device: Any) -> int:
        """Serial-poll status byte: MAV and ESB, and EAV (bit 2) while an error is queued."""
        eav = 0x04 if any(q._queue for q in device._error_queues.values()) else 0
        return self._mav_esb(device) | eav


class ScpiGrammar(Grammar):
    kind = "scpi"
    ieee488 = True

    def __init__(self, delimiter: bytes, keywords=(), optional=()):
        super().__init__(delimiter)
        self._short: dict[str, str] = {}
        for word in keywords:
            short = "".join(c for c in word if c.isupper() or c.isdigit())
            if not short:
                raise GrammarError(f"SCPI keyword {word!r} has no upper-case short form")
            self._short[word.upper()] = short
            self._short[short] = short
        self._optional = frozenset(self.keyword(w.upper()) for w in optional)

    def keyword(self, word: str) -> str:
        """Short form of one upper-case keyword (numeric suffix kept)."""
        stem = word.rstrip("0123456789")
        suffix = word[len(stem):]
        short = self._short.get(stem)
        if short is None:
            if len(stem) <= 4 or not stem.isalpha():
                short = stem
            else:
                short = stem[:3] if stem[3] in VOWELS else stem[:4]
        return short + suffix

    def _canonical_message(self, text: str) -> list[str]:
        delimiter = self.delimiter.decode()
        parts = _split_outside_quotes(text, delimiter) if delimiter else [text]
        out, path = [], []
        for part in parts:
            command, path = self._command(part, path)
            out.append(command)
        return out

    def canonical(self, command: str) -> str:
        return self._command(command, [])[0]

    def pattern(self, text: str) -> str:
        # ``{_}`` (an ignored field) is how a plain pyvisa-sim file takes a short and a
        # long spelling with one pattern; the grammar does that itself
        return self.canonical(text.replace("{_}", ""))

    def _command(self, text: str, path: list[str]) -> tuple[str, list[str]]:
        text = text.strip()
        if not text:
            return "", path
        header, _, params = text.partition(" ")
        if "\t" in header:
            header, _, more = header.partition("\t")
            params = more + " " + params
        header = _upper_outside_quotes(header)
        if header.startswith("*"):
            return (header + (" " + self._params(params) if params.strip() else "")), path
        query = header.endswith("?")
        if query:
            header = header[:-1]
        if header.startswith(":"):
            words = header[1:].split(":")
        else:
            words = path + header.split(":")
        words = [w if "{" in w else self.keyword(w) for w in words if w]
        kept = [w for i, w in enumerate(words) if i == 0 or w not in self._optional]
        canonical = ":".join(kept) + ("?" if query else "")
        if params.strip():
            canonical += " " + self._params(params)
        return canonical, words[:-1]

    def _params(self, params: str) -> str:
        values = []
        for value in _split_outside_quotes(params.strip(), ","):
            value = value.strip()
            if not value or value[0] in "\"'{+-.0123456789#":
                values.append(value)
                continue
            word = value.upper()
            if word == "ON":
                values.append("1")
            elif word == "OFF":
                values.append("0")
            elif word.isalnum():
                values.append(self.keyword(word))
            else:
                values.append(word)
        return ",".join(values)


class Sr830Grammar(Grammar):
    kind = "sr830"
    ieee488 = True

    def canonical(self, command: str) -> str:
        return _upper_outside_quotes("".join(command.split()))

    def status_byte(self, device: Any) -> int:
        # SR830 serial poll: IFC (bit 1) set while no command is executing, ERR (bit 2)
        # from its error register (not an error queue), MAV, ESB as IEEE 488.2
        return 0x02 | self._mav_esb(device)


class LakeShoreGrammar(Grammar):
    kind = "lakeshore"
    ieee488 = True
    _HEADER = re.compile(r"\s*(\*?[A-Za-z0-9]+\??)\s*(.*?)\s*$", re.S)

    def canonical(self, command: str) -> str:
        match = self._HEADER.match(command)
        if not match:
            return command.strip()
        header, params = match.groups()
        header = header.upper()
        if not params:
            return header
        values = [v.strip() for v in _split_outside_quotes(params, ",")]
        return header + " " + _upper_outside_quotes(",".join(values))

    def status_byte(self, device: Any) -> int:
        stb = 0x10 if device._output_buffers else 0
        if any(r._value for r in device._status_registers.values()):
            stb |= 0x20
        return stb


class OxfordGrammar(Grammar):
    kind = "oxford"

    def unknown_reply(self, command: bytes, known_devices: frozenset[str]) -> bytes | None:
        text = command.decode("ascii", errors="replace").strip()
        verb, _, path = text.partition(":")
        if verb not in ("READ", "SET") or not path:
            return b"INVALID"
        parts = path.split(":")
        tail = "INVALID"
        if len(parts) >= 2 and parts[0] == "DEV" and parts[1] not in known_devices:
            tail = "NOT_FOUND"
        echo = path if verb == "READ" else "SET:" + path
        return f"STAT:{echo}:{tail}".encode("ascii")

    @staticmethod
    def devices_in(queries) -> frozenset[str]:
        """The device UIDs (``DEV:<uid>:...``) a set of device-file queries names."""
        uids = set()
        for q in queries:
            parts = q.split(":")
            if len(parts) > 2 and parts[0] in ("READ", "SET") and parts[1] == "DEV":
                uids.add(parts[2])
        return frozenset(uids)


_KINDS = {g.kind: g for g in (Grammar, ScpiGrammar, Sr830Grammar, LakeShoreGrammar, OxfordGrammar)}


def grammar_for(spec: dict | None, delimiter: bytes, where: str = "device file") -> Grammar:
    """The grammar a device file's ``grammar:`` section declares (none: exact)."""
    if not spec:
        return Grammar(delimiter)
    if isinstance(spec, str):
        spec = {"kind": spec}
    kind = spec.get("kind", "exact")
    cls = _KINDS.get(kind)
    if cls is None:
        raise GrammarError(f"{where}: unknown grammar {kind!r}; known: {', '.join(sorted(_KINDS))}")
    if cls is ScpiGrammar:
        return cls(delimiter, spec.get("keywords", ()), spec.get("optional", ()))
    extra = set(spec) - {"kind"}
    if extra:
        raise GrammarError(f"{where}: grammar {kind!r} takes no {', '.join(sorted(extra))}")
    return cls(delimiter)
