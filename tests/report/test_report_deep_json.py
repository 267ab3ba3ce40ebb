"""The report shows an output nested too deeply for repr() as a note, not a RecursionError."""

from signoff.core.jsondiff import TOO_DEEP
from signoff.report.html import _text_block


def test_text_block_of_a_value_nested_too_deeply():
    value: list = [1]
    for _ in range(100_000):
        value = [value]
    assert _text_block(value) == f'<pre class="out ">({TOO_DEEP})</pre>'
    assert _text_block("[" * 100_000).count("[") < 100_000     # long text is cut, as before
