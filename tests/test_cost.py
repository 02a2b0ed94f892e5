"""Cost: prices from genai-prices and the user's config, per request, run and session; budgets."""

from __future__ import annotations

import pytest
from genai_prices import Usage as PriceUsage
from genai_prices import calc_price

from allos_core.agent import Agent
from allos_core.errors import ConfigError
from allos_core.messages import Usage, validate_conversation
from allos_core.plugins import create_plugin_manager
from allos_core.pricing import ModelPrice, Pricer, parse_prices
from allos_core.sessions import Session
from allos_core.testing import ScriptedProvider
from allos_core.tools import tool


class PricedScripted(ScriptedProvider):
    """A scripted provider that genai-prices knows as OpenAI (no base URL)."""

    name = "priced"
    prices_id = "openai"


class AnthropicScripted(ScriptedProvider):
    name = "priced-anthropic"
    prices_id = "anthropic"


def make_agent(provider, tools=(), **options):
    options.setdefault("plugin_manager", create_plugin_manager([], discover=False))
    options.setdefault("system_prompt", "You are a test agent.")
    return Agent(provider, tools=list(tools), **options)


def turn(text="ok", calls=None, **usage):
    spec = {"text": text, "usage": {"input_tokens": 1000, "output_tokens": 100, **usage}}
    if calls:
        spec["tool_calls"] = calls
    return spec


@tool(read_only=True)
def ping() -> str:
    """Ping."""
    return "pong"


# -- figures checked against genai-prices -------------------------------------------------------


@pytest.mark.parametrize(
    ("provider_cls", "model", "usage"),
    [
        (PricedScripted, "gpt-4o", Usage(input_tokens=12_000, output_tokens=800)),
        (PricedScripted, "gpt-4o-mini", Usage(input_tokens=50_000, output_tokens=2_000, cache_read_tokens=30_000)),
        (AnthropicScripted, "claude-sonnet-4-5", Usage(input_tokens=40_000, output_tokens=1_000, cache_read_tokens=20_000, cache_write_tokens=5_000)),
        (AnthropicScripted, "claude-3-5-haiku-latest", Usage(input_tokens=9_000, output_tokens=300, cache_write_tokens=4_000)),
    ],
)  # fmt: skip
def test_request_cost_matches_genai_prices_including_cached_tokens(provider_cls, model, usage):
    provider = provider_cls([], model=model)
    expected = calc_price(
        PriceUsage(
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cache_read_tokens=usage.cache_read_tokens,
            cache_write_tokens=usage.cache_write_tokens,
        ),
        model,
        provider_id=provider_cls.prices_id,
    ).total_price
    cost = Pricer().cost(provider, model, usage)
    assert cost == pytest.approx(float(expected), rel=1e-9)
    assert cost > 0


def test_cached_tokens_cost_less_than_uncached():
    provider = PricedScripted([], model="gpt-4o")
    plain = Pricer().cost(provider, "gpt-4o", Usage(input_tokens=100_000))
    cached = Pricer().cost(
        provider, "gpt-4o", Usage(input_tokens=100_000, cache_read_tokens=80_000)
    )
    assert cached < plain


def test_unknown_model_counts_tokens_without_a_price():
    provider = PricedScripted([], model="my-finetune-xyz")
    assert Pricer().cost(provider, "my-finetune-xyz", Usage(input_tokens=10)) is None


def test_provider_without_prices_id_is_never_looked_up():
    provider = ScriptedProvider([], model="gpt-4o")  # a local server may call its model gpt-4o
    assert Pricer().cost(provider, "gpt-4o", Usage(input_tokens=10)) is None


def test_local_server_is_never_priced_even_with_a_known_model_name():
    provider = PricedScripted([], model="gpt-4o", base_url="http://127.0.0.1:9/v1")
    assert Pricer().cost(provider, "gpt-4o", Usage(input_tokens=10)) is None


def test_custom_base_url_is_priced_by_url_not_by_provider():
    router = PricedScripted([], model="openai/gpt-4o", base_url="https://openrouter.ai/api/v1")
    usage = Usage(input_tokens=1_000_000)
    expected = calc_price(
        PriceUsage(input_tokens=1_000_000), "openai/gpt-4o", provider_api_url=router.base_url
    ).total_price
    assert Pricer().cost(router, "openai/gpt-4o", usage) == pytest.approx(float(expected))
    assert Pricer().cost(router, "gpt-4o", usage) is None  # not OpenAI's own naming there


# -- user prices ---------------------------------------------------------------------------------


def test_user_price_wins_and_prices_cache_tokens():
    pricer = Pricer(
        {"gpt-4o": {"input_per_mtok": 1, "output_per_mtok": 2, "cache_read_per_mtok": 0.1}}
    )
    provider = PricedScripted([], model="gpt-4o")
    usage = Usage(input_tokens=1_000_000, output_tokens=1_000_000, cache_read_tokens=500_000)
    assert pricer.cost(provider, "gpt-4o", usage) == pytest.approx(0.5 + 0.05 + 2)


def test_user_price_for_provider_slash_model_only_applies_to_that_provider():
    pricer = Pricer({"scripted/local": {"input_per_mtok": 10, "output_per_mtok": 10}})
    usage = Usage(input_tokens=100_000)
    assert pricer.cost(ScriptedProvider([], model="local"), "local", usage) == pytest.approx(1.0)
    assert pricer.cost(PricedScripted([], model="local"), "local", usage) is None


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"m": {"input_per_mtok": 1}}, "needs output_per_mtok"),
        ({"m": {"input_per_mtok": -1, "output_per_mtok": 1}}, "0 or more"),
        ({"m": {"input_per_mtok": "1", "output_per_mtok": 1}}, "number of dollars"),
        ({"m": {"input_per_mtok": 1, "output_per_mtok": 1, "extra": 1}}, "unknown key"),
        ({"m": 3}, "table of prices"),
    ],
)
def test_bad_user_prices_are_config_errors(table, message):
    with pytest.raises(ConfigError, match=message):
        parse_prices(table)


def test_model_price_defaults_cache_prices_to_the_input_price():
    price = ModelPrice(input_per_mtok=2, output_per_mtok=0)
    usage = Usage(input_tokens=1_000_000, cache_read_tokens=300_000, cache_write_tokens=200_000)
    assert price.cost(usage) == pytest.approx(2.0)


# -- per request, per run, per session ------------------------------------------------------------

PRICES = {"scripted": {"input_per_mtok": 1, "output_per_mtok": 10}}  # $0.001 + $0.001 a turn


def test_each_request_run_and_session_carry_the_cost(tmp_path):
    session = Session.open(tmp_path / "s.json")
    agent = make_agent(
        ScriptedProvider([turn(calls=[{"name": "ping"}]), turn()]),
        tools=[ping],
        prices=PRICES,
        session=session,
    )
    result = agent.run("go")
    assistant = [m for m in result.messages if m.role == "assistant"]
    assert [m.usage.cost for m in assistant] == [pytest.approx(0.002)] * 2
    assert result.usage.cost == pytest.approx(0.004)
    saved = Session.load(tmp_path / "s.json")
    assert saved.usage.cost == pytest.approx(0.004)
    assert [t["usage"]["cost"] for t in saved.turns] == [pytest.approx(0.002)] * 2


def test_session_cost_adds_up_across_a_provider_switch(tmp_path):
    session = Session.open(tmp_path / "s.json")
    agent = make_agent(ScriptedProvider([turn()]), prices=PRICES, session=session)
    agent.run("one")
    agent.set_provider(PricedScripted([turn()], model="gpt-4o"))
    agent.run("two")
    gpt = Pricer().cost(agent.provider, "gpt-4o", Usage(input_tokens=1000, output_tokens=100))
    assert agent.usage.cost == pytest.approx(0.002 + gpt)
    assert Session.load(tmp_path / "s.json").usage.cost == pytest.approx(0.002 + gpt)


def test_unpriced_requests_leave_cost_none_but_count_tokens():
    agent = make_agent(ScriptedProvider([turn()]))
    result = agent.run("go")
    assert result.usage.cost is None and result.usage.input_tokens == 1000


def test_usage_addition_keeps_known_costs_and_cache_counts():
    total = Usage(cost=None, cache_read_tokens=1) + Usage(cost=0.5, cache_write_tokens=2)
    assert (total.cost, total.cache_read_tokens, total.cache_write_tokens) == (0.5, 1, 2)
    assert (Usage() + Usage()).cost is None


def test_old_session_usage_without_cost_still_loads():
    assert Usage.model_validate({"input_tokens": 3, "output_tokens": 1, "requests": 1}).cost is None


# -- budgets -------------------------------------------------------------------------------------


def test_budget_stops_before_a_request_likely_to_cross_it():
    provider = ScriptedProvider([turn(calls=[{"name": "ping"}]), turn()])
    # turn 1 costs $0.002; the second request's input alone would cost about $0.000x more
    agent = make_agent(provider, tools=[ping], prices=PRICES, max_cost=0.002)
    result = agent.run("go")
    assert result.stop_reason == "cost_limit"
    assert provider.remaining == 1  # the second request was never sent
    assert "budget of $0.0020" in result.error
    assert validate_conversation(result.messages) == []


def test_budget_stops_after_a_request_that_crossed_it_without_running_its_tools():
    ran = []

    @tool(read_only=True)
    def work() -> str:
        """Work."""
        ran.append(1)
        return "ok"

    big = turn(calls=[{"name": "work"}], output_tokens=100_000)  # $1.001
    provider = ScriptedProvider([big, turn()])
    agent = make_agent(provider, tools=[work], prices=PRICES, max_cost=0.5)
    result = agent.run("go")
    assert result.stop_reason == "cost_limit" and ran == []
    assert "over its budget" in result.error
    assert validate_conversation(result.messages) == []
    assert result.messages[-1].parts[0].content.startswith("not run")


def test_budget_needs_a_known_price():
    agent = make_agent(ScriptedProvider([turn()]), max_cost=1.0)
    result = agent.run("go")
    assert result.stop_reason == "error"
    assert "no price is known for scripted/scripted" in result.error
    assert "[prices." in result.error_hint


def test_budget_is_per_run():
    provider = ScriptedProvider([turn(), turn()])
    agent = make_agent(provider, prices=PRICES, max_cost=0.003)
    assert agent.run("one").ok
    assert agent.run("two").ok  # $0.004 over the agent's life, $0.002 per run


def test_final_answer_over_budget_is_still_the_answer():
    provider = ScriptedProvider([turn(output_tokens=100_000)])
    agent = make_agent(provider, prices=PRICES, max_cost=0.5)
    result = agent.run("go")
    assert result.ok and result.usage.cost > 0.5
