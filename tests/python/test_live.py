"""baton.run on a math config with a live backend, against a counting OpenAI-compatible mock on 127.0.0.1.

The same runner as `baton run` (tests/cli/live_run.rs checks the CLI): the spend cap stops the run cleanly, a
rerun replays the journal without a single request and gives the same metrics, and a raised cap pays only for
the responses that are missing. A bad live field raises ValueError naming it before any request.
"""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import baton


class Mock(BaseHTTPRequestHandler):
    """Chat completions: the strong model (gpt-4o) always says 72, the cheap one 72 or 71; 1000 + 100 tokens."""

    protocol_version = "HTTP/1.1"  # keep-alive, as real servers: the client's pool reuses its connections
    requests = []
    lock = threading.Lock()

    def do_POST(self):  # noqa: N802
        length = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(length))
        content = body["messages"][0]["content"]
        strong = body["model"] == "gpt-4o"
        answer = "72" if strong or len(content) % 3 else "71"
        reply = {
            "choices": [{"index": 0, "message": {"role": "assistant", "content": f"Step by step.\n#### {answer}"}}],
            "usage": {"prompt_tokens": 1000, "completion_tokens": 100, "total_tokens": 1100},
        }
        data = json.dumps(reply).encode()
        with Mock.lock:
            Mock.requests.append((self.path, body["model"]))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture()
def server():
    Mock.requests = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Mock)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()
    httpd.server_close()


def config(root, url, journal, cap, questions=40):
    return {
        "name": "live-python",
        "seeds": 1,
        "methods": ["ic-q", "cheap-only", "strong-only"],
        "workload": {
            "kind": "math",
            "backend": "live",
            "lambdas": [0.0, 50.0],
            "episodes": 2000,
            "questions": questions,
            "cheap_model": "gpt-4o-mini",
            "strong_model": "gpt-4o",
            "data_dir": str(root / "data"),
            "live": {
                "base_url": url,
                "spend_cap_usd": cap,
                "max_concurrency": 2,
                "max_retries": 0,
                "timeout_secs": 10,
                "record_file": str(journal),
            },
        },
    }


def summary(result):
    return json.loads((result.dir / "summary.json").read_text())


def test_the_cap_stops_a_python_run_and_a_rerun_replays_for_free(server, root, tmp_path):
    journal = tmp_path / "journal.jsonl"
    first = baton.run(config(root, server, journal, 0.05), out=tmp_path / "first", progress=False)
    live = summary(first)["live"]
    sent = len(Mock.requests)
    assert live["cap_reached"] is True
    assert 2 <= live["questions_answered"] < 40
    assert live["http_requests"] == sent
    assert all(path == "/v1/chat/completions" for path, _ in Mock.requests)
    assert len(journal.read_text().splitlines()) == sent, "every response recorded"

    second = baton.run(config(root, server, journal, 0.05), out=tmp_path / "second", progress=False)
    assert len(Mock.requests) == sent, "a rerun sent requests"
    assert summary(second)["live"]["http_requests"] == 0
    assert (first.dir / "metrics.jsonl").read_bytes() == (second.dir / "metrics.jsonl").read_bytes()

    third = baton.run(config(root, server, journal, 10.0), out=tmp_path / "third", progress=False)
    assert len(Mock.requests) == 80, "each (model, question) paid exactly once"
    live = summary(third)["live"]
    assert live["cap_reached"] is False
    assert live["new_responses"] == 80 - sent
    assert live["questions_answered"] == 40
    assert {"ic-q", "cheap-only", "strong-only"} <= set(third.summary["method"])


def test_a_bad_live_field_is_named_before_any_request(server, root, tmp_path):
    bad = config(root, server, tmp_path / "journal.jsonl", -1.0)
    with pytest.raises(ValueError, match=r"workload\.live\.spend_cap_usd"):
        baton.run(bad, out=tmp_path / "bad", progress=False)
    assert Mock.requests == []
    assert not (tmp_path / "journal.jsonl").exists()
