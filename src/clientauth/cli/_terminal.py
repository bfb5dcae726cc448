"""Text for an operator's terminal: what a registry holds is written by whoever registered a
client (an RFC 7591 document, a certificate subject), so it may carry ESC, BEL, CR or
bidirectional-override characters that would rewrite the screen, spoof a line or set the
window title. Everything the CLI prints goes through :func:`terminal_lines`."""

from __future__ import annotations

__all__ = ["terminal_lines", "terminal_safe"]

_BMP_MAX = 0xFFFF


def terminal_safe(text: str) -> str:
    """``text`` with every non-printable character (``str.isprintable``: C0 and C1 controls
    such as ESC, BEL, CR and DEL, format characters such as U+202E, line and paragraph
    separators, unassigned and private-use code points, lone surrogates) replaced by a
    ``\\uXXXX`` escape -- the JSON spelling, so JSON output stays valid JSON."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else _escape(c) for c in text)


def terminal_lines(text: str) -> str:
    """:func:`terminal_safe` applied to each line; the line breaks themselves are kept."""
    return "\n".join(terminal_safe(line) for line in text.split("\n"))


def _escape(char: str) -> str:
    code = ord(char)
    if code <= _BMP_MAX:
        return f"\\u{code:04x}"
    # JSON (RFC 8259 7) spells a character beyond the BMP as a UTF-16 surrogate pair.
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
