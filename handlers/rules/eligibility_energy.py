"""第十条第3、4项: the energy figures — electricity at its equivalent value, and the benchmark table.

Both come from ``config/energy_benchmarks.toml`` (the factor with its source, the key-industry
products with their 标杆水平), read once and frozen.  Everything here is arithmetic on the
applicant's figures; the rules that cite the articles are in ``handlers.rules.eligibility``.
"""
from __future__ import annotations

import functools
import math
import tomllib
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Mapping

from handlers._config import CONFIG_DIR

__all__ = ["Benchmark", "EnergySettings", "energy_settings", "total_energy_tce", "as_number"]

_KWH_PER_10K = 10_000.0
_KG_PER_TONNE = 1_000.0


@dataclass(frozen=True)
class Benchmark:
    """One key-industry product of 发改产业〔2023〕723号: lower unit consumption is better."""

    key: str
    zh: str
    en: str
    industry: str
    unit: str
    benchmark: float
    baseline: float


@dataclass(frozen=True)
class EnergySettings:
    kgce_per_kwh: float
    factor_source: str
    threshold_tce: float
    products: Mapping[str, Benchmark]

    @property
    def tce_per_10k_kwh(self) -> float:
        """1.229 for 0.1229 kgce/kWh: what 10,000 kWh weigh in tonnes of standard coal."""
        return self.kgce_per_kwh * _KWH_PER_10K / _KG_PER_TONNE


@functools.cache
def energy_settings() -> EnergySettings:
    """``config/energy_benchmarks.toml``, checked: a bad table fails loudly at first use, not silently."""
    with open(CONFIG_DIR / "energy_benchmarks.toml", "rb") as fh:
        raw = tomllib.load(fh)
    products = {}
    for key, row in raw.get("products", {}).items():
        products[key] = Benchmark(key=key, zh=str(row["zh"]), en=str(row["en"]), industry=str(row["industry"]),
                                  unit=str(row["unit"]), benchmark=float(row["benchmark"]),
                                  baseline=float(row["baseline"]))
    factor = float(raw["electricity"]["equivalent_kgce_per_kwh"])
    if not 0 < factor < 1:
        raise ValueError(f"energy_benchmarks.toml: equivalent factor {factor} kgce/kWh is not plausible")
    return EnergySettings(kgce_per_kwh=factor, factor_source=str(raw["electricity"]["source"]),
                          threshold_tce=float(raw["certification"]["threshold_tce"]),
                          products=MappingProxyType(products))


def as_number(value: Any) -> float | None:
    """A finite number, or None (booleans, text and NaN are not figures)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def total_energy_tce(electricity_10k_kwh: Any, other_energy_tce: Any) -> float | None:
    """年综合能源消费量 with electricity at its equivalent value, to 0.01 tce; None if a part is missing.

    Rounded so that 3000 declared as parts is 3000 and not 2999.9999999 (第十条第4项 includes 3000).
    """
    electricity, other = as_number(electricity_10k_kwh), as_number(other_energy_tce)
    if electricity is None or other is None:
        return None
    return round(electricity * energy_settings().tce_per_10k_kwh + other, 2)
