"""Commands refuse an output path that would overwrite one of their inputs or another output."""

from click.testing import CliRunner

from streams.cli import main


def test_offline_simulate_evaluate_and_the_converters_keep_their_inputs(tmp_path):
    events = tmp_path / "events.jsonl"
    events.write_text('{"type":"login","schema_version":1,"event_id":"e1","customer_id":"c1",'
                      '"occurred_at":"2024-01-01T00:00:00Z","channel":"web"}\n')
    before = events.read_bytes()
    runs = [
        ["offline", str(events), "--warnings", str(events)],
        ["offline", str(events), "--warnings", str(tmp_path / "w.jsonl"), "--snapshot", str(tmp_path / "w.jsonl")],
        ["simulate", "--customers", "10", "--days", "200", "--out", str(tmp_path / "s.jsonl"),
         "--truth", str(tmp_path / "s.jsonl")],
        ["evaluate", "--warnings", str(events), "--truth", str(events), "--events", str(events),
         "--json", str(events)],
        ["convert-visits", str(events), str(events)],
        ["convert-complaints", str(events), str(events)],
    ]
    for args in runs:
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 1, (args, result.output)
        assert "destroy the input" in result.output or "name one file" in result.output, (args, result.output)
        assert events.read_bytes() == before, args
    assert not (tmp_path / "s.jsonl").exists() and not (tmp_path / "w.jsonl").exists()
