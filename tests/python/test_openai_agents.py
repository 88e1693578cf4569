"""baton.openai_agents: a learned policy, not the model's tool call, chooses the OpenAI Agents SDK's handoffs.

The SDK runs against a loopback mock of the chat-completions API that the test starts and stops. The mock plays
an unreliable LLM: whenever it is offered a transfer tool it transfers to the cheap solver, whatever the
question; otherwise it answers as the model it is asked for.
"""

import asyncio
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
from agents import Agent, Runner, set_tracing_disabled
from agents.items import HandoffOutputItem
from agents.models.openai_chatcompletions import OpenAIChatCompletionsModel
from openai import AsyncOpenAI

from baton.openai_agents import FINISH, HandoffPolicy

set_tracing_disabled(True)


class Mock(BaseHTTPRequestHandler):
    seen = []  # (model, offered tool names) per request

    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        tools = [t["function"]["name"] for t in body.get("tools") or []]
        Mock.seen.append((body["model"], tools))
        transfers = [t for t in tools if t.startswith("transfer_to_")]
        if transfers:
            pick = next((t for t in transfers if "cheap" in t), transfers[0])
            message = {"role": "assistant", "content": None,
                       "tool_calls": [{"id": f"call_{len(Mock.seen)}", "type": "function",
                                       "function": {"name": pick, "arguments": "{}"}}]}
            finish = "tool_calls"
        else:
            message = {"role": "assistant", "content": f"answer of {body['model']}"}
            finish = "stop"
        reply = json.dumps({
            "id": f"chatcmpl-{len(Mock.seen)}", "object": "chat.completion", "created": 0, "model": body["model"],
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 110},
        }).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Mock)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    Mock.seen = []
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=10)


def pipeline(url):
    client = AsyncOpenAI(base_url=url, api_key="test", max_retries=0)
    model = lambda name: OpenAIChatCompletionsModel(model=name, openai_client=client)  # noqa: E731
    cheap = Agent(name="cheap", instructions="Solve it.", model=model("cheap-model"))
    strong = Agent(name="strong", instructions="Solve it carefully.", model=model("strong-model"))
    triage = Agent(name="triage", instructions="Hand the question to a solver.", model=model("triage-model"),
                   handoffs=[cheap, strong])
    return triage, cheap, strong


# The cheap solver is right on easy questions only, the strong one always; a call costs 0.1 (cheap) or 0.5
# (strong). Best: easy -> cheap finishes (0.9); hard -> strong directly (0.5; through cheap: 1 - 0.6 = 0.4).
PRICE = {"cheap": 0.1 / 110, "strong": 0.5 / 110, "triage": 0.0}


def reward(hard):
    return lambda result: 1.0 if (result.last_agent.name == "strong" or not hard) else 0.0


def learned(url, **kw):
    triage, cheap, strong = pipeline(url)
    policy = HandoffPolicy(cost=lambda name, usage: PRICE[name] * usage.total_tokens, **kw)
    policy.learned(triage, observe=lambda ctx, out: ctx["hard"], n_obs=2, routes=[cheap, strong], decide="before")
    policy.learned(cheap, observe=lambda ctx, out: ctx["hard"], n_obs=2, routes=[FINISH, strong])
    policy.learned(strong, observe=lambda ctx, out: 0, n_obs=1, routes=[FINISH])
    return policy, triage


def handoffs(result):
    return [(i.source_agent.name, i.target_agent.name) for i in result.new_items if isinstance(i, HandoffOutputItem)]


def test_without_baton_the_model_picks_the_handoff(server):
    triage, _, _ = pipeline(server)
    result = asyncio.run(Runner.run(triage, "A hard question", context={"hard": 1}))
    assert handoffs(result) == [("triage", "cheap")] and result.last_agent.name == "cheap"


def test_the_policy_picks_every_handoff_and_learns_from_one_scalar_each(server):
    policy, triage = learned(server, seed=3, behaviour={"kind": "uniform"})
    events = []  # ("reply", v) and ("learn", agent, v), in the order they happen
    for name, a in policy.learners.items():
        learn, reply = a.learn, a.reply
        a.learn = lambda o, act, r, d, v, _n=name, _l=learn: (events.append(("learn", _n, v)), _l(o, act, r, d, v))[1]
        a.reply = lambda o, _r=reply: (events.append(("reply", _r(o))), events[-1][1])[1]
    rng = np.random.default_rng(0)
    hard = [int(h) for h in rng.integers(0, 2, 240)]

    async def train():
        results = []
        for batch in range(0, len(hard), 12):  # concurrent runs are kept apart
            results += await asyncio.gather(*(
                policy.run(triage, "question", context={"hard": h}, reward=reward(h)) for h in hard[batch:batch + 12]
            ))
        return results

    results = asyncio.run(train())
    for result in results:
        # What the SDK did is exactly the policy's picks: one handoff per pick of an agent, then FINISH.
        picks = result.baton_picks
        assert picks[-1] is FINISH and [t for s, t in handoffs(result)] == picks[:-1]
    assert {tuple(r.baton_picks) for r in results} == {("cheap", None), ("strong", None), ("cheap", "strong", None)}
    # The model was never offered a transfer tool, and the triage agent never called its model.
    assert all(not tools for _, tools in Mock.seen) and all(m != "triage-model" for m, _ in Mock.seen)
    # One scalar per handoff: every transfer used exactly the receiver's reply; FINISH learned with 0.
    n_transfers = sum(len(r.baton_picks) - 1 for r in results)
    assert policy.stats == {"handoffs": n_transfers + len(results), "transfers": n_transfers, "scalars": n_transfers}
    # Each reply is the value the sender learns from at once; the other updates are FINISH, learned with 0.
    finish = 0
    for k, event in enumerate(events):
        if event[0] == "reply":
            assert events[k + 1][0] == "learn" and events[k + 1][2] == event[1]
        elif k == 0 or events[k - 1][0] != "reply":
            assert event[2] == 0.0
            finish += 1
    assert sum(e[0] == "reply" for e in events) == n_transfers and finish == len(results)
    q = policy.learners["triage"].q
    assert q[0].argmax() == 0 and q[1].argmax() == 1, q
    assert q[0, 0] == pytest.approx(0.9, abs=0.05) and q[1, 1] == pytest.approx(0.5, abs=0.05)

    policy.freeze()
    Mock.seen = []
    easy = asyncio.run(policy.run(triage, "question", context={"hard": 0}))
    hard_run = asyncio.run(policy.run(triage, "question", context={"hard": 1}))
    assert handoffs(easy) == [("triage", "cheap")] and easy.last_agent.name == "cheap"
    assert handoffs(hard_run) == [("triage", "strong")] and hard_run.last_agent.name == "strong"
    assert [m for m, _ in Mock.seen] == ["cheap-model", "strong-model"]


def test_bad_use_is_refused(server):
    policy, triage = learned(server)
    with pytest.raises(RuntimeError, match="HandoffPolicy.run"):
        asyncio.run(Runner.run(triage, "question", context={"hard": 0}))
    with pytest.raises(ValueError, match="reward"):
        asyncio.run(policy.run(triage, "question", context={"hard": 0}))
    with pytest.raises(ValueError, match="observe returned 7"):
        asyncio.run(policy.run(triage, "question", context={"hard": 7}, reward=reward(0)))
    with pytest.raises(ValueError, match="already learned"):
        policy.learned(triage, observe=lambda c, o: 0, n_obs=1, routes=[FINISH])
    with pytest.raises(ValueError, match="mode"):
        HandoffPolicy(mode="greedy")
