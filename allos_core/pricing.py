"""What model requests cost, in US dollars.

Prices come from `genai-prices <https://pypi.org/project/genai-prices/>`_ (maintained, with its
data shipped offline in the package), looked up by the provider's genai-prices id
(:attr:`~allos_core.providers.Provider.prices_id`, or its base URL when one is set) and the model
name. A price the user set in config wins::

    [prices."my-model"]              # or "PROVIDER/MODEL" to price one provider's model only
    input_per_mtok = 0.5             # dollars per million input tokens
    output_per_mtok = 1.5
    cache_read_per_mtok = 0.05       # optional; input price when missing
    cache_write_per_mtok = 0.6       # optional; input price when missing

A model with neither (a local Ollama model, a custom server) is counted in tokens only: its
:attr:`Usage.cost <allos_core.messages.Usage.cost>` stays None.

genai-prices takes about half a second to load, so it is imported on first use, and
:meth:`Pricer.warm_up` loads it on a background thread while the first request is on the wire.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from allos_core.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from allos_core.messages import Usage
    from allos_core.providers import Provider

__all__ = ["ModelPrice", "Pricer", "budget_stop", "parse_prices"]

logger = logging.getLogger("allos.pricing")

MILLION = 1_000_000
PRICE_KEYS = ("input_per_mtok", "output_per_mtok", "cache_read_per_mtok", "cache_write_per_mtok")


@dataclass(frozen=True)
class ModelPrice:
    """A user-set price, in dollars per million tokens (cache prices default to the input's)."""

    input_per_mtok: float
    output_per_mtok: float
    cache_read_per_mtok: float | None = None
    cache_write_per_mtok: float | None = None

    def cost(self, usage: Usage) -> float:
        """The dollars ``usage`` costs at this price."""
        read, write = usage.cache_read_tokens, usage.cache_write_tokens
        plain = max(usage.input_tokens - read - write, 0)
        read_rate = _or(self.cache_read_per_mtok, self.input_per_mtok)
        write_rate = _or(self.cache_write_per_mtok, self.input_per_mtok)
        total = (
            plain * self.input_per_mtok
            + read * read_rate
            + write * write_rate
            + usage.output_tokens * self.output_per_mtok
        )
        return total / MILLION


def _or(value: float | None, default: float) -> float:
    return default if value is None else value


def parse_prices(table: Mapping[str, Any], where: str = "prices") -> dict[str, ModelPrice]:
    """The ``[prices]`` table of a config file as :class:`ModelPrice` by model name.

    Raises :class:`ConfigError` for a price that is missing, negative or not a number.
    """
    prices: dict[str, ModelPrice] = {}
    for model, entry in table.items():
        if isinstance(entry, ModelPrice):
            prices[model] = entry
            continue
        if not isinstance(entry, Mapping):
            raise ConfigError(
                f"{where}.{model!r} must be a table of prices",
                hint=f'write [prices."{model}"] input_per_mtok = 0.5, output_per_mtok = 1.5',
            )
        unknown = sorted(set(entry) - set(PRICE_KEYS))
        if unknown:
            raise ConfigError(
                f"{where}.{model!r}: unknown key {unknown[0]!r}",
                hint=f"known keys: {', '.join(PRICE_KEYS)}",
            )
        values: dict[str, float] = {}
        for key in PRICE_KEYS:
            value = entry.get(key)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ConfigError(
                    f"{where}.{model!r}.{key} must be a number of dollars (0 or more), "
                    f"got {value!r}",
                    hint=f"for example {key} = 0.5",
                )
            values[key] = float(value)
        missing = [k for k in PRICE_KEYS[:2] if k not in values]
        if missing:
            raise ConfigError(
                f"{where}.{model!r} needs {' and '.join(missing)}",
                hint="set both input_per_mtok and output_per_mtok (dollars per million tokens)",
            )
        prices[model] = ModelPrice(**values)
    return prices


class Pricer:
    """Prices usage for a provider and model: the user's prices first, then genai-prices."""

    def __init__(self, prices: Mapping[str, Any] | None = None) -> None:
        self.prices = parse_prices(prices or {})
        self._unknown: set[tuple[str | None, str | None, str]] = set()

    def knows(self, provider: Provider, model: str) -> bool:
        """Whether requests to ``model`` on ``provider`` have a price."""
        from allos_core.messages import Usage

        return self.cost(provider, model, Usage(input_tokens=1)) is not None

    def priced(self, provider: Provider, model: str | None, usage: Usage) -> Usage:
        """``usage`` with its cost filled in (unchanged when it has one or none is known)."""
        if usage.cost is not None:
            return usage
        cost = self.cost(provider, model or provider.model, usage)
        return usage if cost is None else usage.model_copy(update={"cost": cost})

    def cost(self, provider: Provider, model: str, usage: Usage) -> float | None:
        """The dollars ``usage`` of ``model`` on ``provider`` costs, or None when unknown."""
        own = self.prices.get(f"{provider.name}/{model}") or self.prices.get(model)
        if own is not None:
            return own.cost(usage)
        key = _lookup_key(provider, model)
        if key in self._unknown or (key[0] is None and key[1] is None):
            return None
        try:
            return _genai_price(usage, key)
        except LookupError:
            self._unknown.add(key)
            return None
        except Exception:  # a broken price table must not break a run
            logger.warning("pricing %s failed", model, exc_info=True)
            self._unknown.add(key)
            return None

    def warm_up(self, provider: Provider) -> None:
        """Load genai-prices on a daemon thread when ``provider`` will need it."""
        if _LOADED.is_set() or _lookup_key(provider, provider.model)[:2] == (None, None):
            return
        threading.Thread(target=_load, name="allos-prices", daemon=True).start()


def budget_stop(
    pricer: Pricer, provider: Provider, limit: float, spent: float, input_tokens: int | None
) -> tuple[str, str, str] | None:
    """Why a run that has ``spent`` dollars of a ``limit`` budget must stop, or None.

    ``input_tokens`` None: after a request, stop once the run is over the budget. A number:
    before a request of that many input tokens, stop when they alone (priced before any output)
    would take the run over it, and when no price is known (a budget that cannot be kept).
    Returns ``(stop reason, error, hint)``.
    """
    more = "raise it with --max-cost USD (or max_cost in the config)"
    if input_tokens is None:
        if spent > limit:
            return "cost_limit", f"the run cost ${spent:.4f}, over its budget of ${limit:.4f}", more
        return None
    from allos_core.messages import Usage

    model = provider.model
    estimate = pricer.cost(provider, model, Usage(input_tokens=input_tokens))
    if estimate is None:
        return (
            "error",
            f"no price is known for {provider.name}/{model}, so the budget of ${limit:.4f} "
            "cannot be kept",
            f'set its price in the config ([prices."{model}"] input_per_mtok = ..., '
            "output_per_mtok = ...) or run without --max-cost",
        )
    if spent + estimate > limit:
        return (
            "cost_limit",
            f"stopped before a request of ~{input_tokens:,} input tokens (~${estimate:.4f}) that "
            f"would take the run (${spent:.4f} so far) over its budget of ${limit:.4f}",
            more,
        )
    return None


_LOADED = threading.Event()


def _load() -> None:
    try:
        from genai_prices import data_snapshot

        data_snapshot.get_snapshot()
    except Exception:  # pragma: no cover - reported on first real use
        logger.debug("loading genai-prices failed", exc_info=True)
    finally:
        _LOADED.set()


def _lookup_key(provider: Provider, model: str) -> tuple[str | None, str | None, str]:
    """(genai-prices provider id, API URL, model): the URL when the provider has a custom one."""
    prices_id = getattr(provider, "prices_id", None)
    if prices_id is None:
        return None, None, model
    base_url = getattr(provider, "base_url", None)
    if base_url:
        if _is_local(str(base_url)):  # a server of your own: genai-prices cannot know it
            return None, None, model
        return None, str(base_url), model
    return str(prices_id), None, model


def _is_local(url: str) -> bool:
    from urllib.parse import urlsplit

    host = (urlsplit(url if "//" in url else f"//{url}").hostname or "").lower()
    return host in ("localhost", "::1", "0.0.0.0") or host.startswith("127.")


def _genai_price(usage: Usage, key: tuple[str | None, str | None, str]) -> float:
    from genai_prices import Usage as PriceUsage
    from genai_prices import calc_price

    provider_id, api_url, model = key
    counts = PriceUsage(
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cache_read_tokens=usage.cache_read_tokens or None,
        cache_write_tokens=usage.cache_write_tokens or None,
    )
    if api_url is not None:
        result = calc_price(counts, model, provider_api_url=api_url)
    else:
        result = calc_price(counts, model, provider_id=provider_id)
    return float(result.total_price)
