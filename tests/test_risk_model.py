"""The learned risk model: it finds an abuse pattern the rules miss, refuses to learn from too little,
explains itself, and raises a return's risk level only through the higher of its word and the rules'."""

import asyncio
import json
import math
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assist.risk_models import save_model
from assist.risk_training import NotEnoughReturns, train
from bench.risk_history import generated_history
from domain.returns import Reason, Status
from domain.risk import CustomerHistory, RiskAssessment
from domain.risk_model import ModelRisk, RiskModel, return_features, score, weights_in_words, with_model
from returnflow.cli import app
from returnflow.settings import Settings
from store.db import Database
from store.migrate import prepare_database
from store.orders import upsert_order
from store.returns import save_return
from tests.api_client import Callers, put_order
from tests.factories import NOW, OrderIn, order_body, return_body, view_through

runner = CliRunner()


@pytest.fixture(scope="module")
def model() -> RiskModel:
    return train(generated_history(1500))


def test_the_model_finds_the_abuse_pattern_the_rules_miss(model: RiskModel) -> None:
    assert model.held_out_auc > model.rules_held_out_auc
    assert model.held_out_auc >= 0.75
    assert model.trained_on == 1500


def test_too_few_labelled_returns_are_refused_with_a_clear_message() -> None:
    with pytest.raises(NotEnoughReturns, match=r"50 inspected returns .* at least 200 are needed"):
        train(generated_history(50))


def test_a_fresh_account_claiming_an_expensive_item_broke_is_high_with_its_factors(model: RiskModel) -> None:
    abuse = return_features(CustomerHistory(orders=1), math.exp(6), 1, 1, False, NOW - timedelta(hours=5), NOW)
    judged = score(model, abuse)
    assert judged.level == "high" and len(judged.factors) == 3
    assert any("value of this return" in factor for factor in judged.factors)
    honest = return_features(CustomerHistory(orders=12, returns=2), 30.0, 0, 1, False, NOW - timedelta(days=9), NOW)
    assert score(model, honest).level == "low"


def test_the_level_is_the_higher_of_the_rules_and_the_model(model: RiskModel) -> None:
    rules = RiskAssessment(level="medium", reasons=["returned 2 of 3 orders in 180 days"])
    low = with_model(rules, model, ModelRisk(probability=0.1, level="low", factors=[]))
    assert low.level == "medium"
    high = with_model(rules, model, ModelRisk(probability=0.9, level="high", factors=["a", "b", "c"]))
    assert high.level == "high" and "top factors: a; b; c" in high.reasons[-1]
    assert high.reasons[0] == rules.reasons[0]


def test_the_weights_read_in_words(model: RiskModel) -> None:
    words = weights_in_words(model)
    assert len(words) == len(model.features)
    assert any(line.startswith("more value of this return → riskier") for line in words), words
    # A negative weight: more of it is safer (not "less of it is safer").
    safer = [w for w in words if "(weight -" in w]
    assert safer and all(line.startswith("more ") and " → safer " in line for line in safer), words
    unweighted = weights_in_words(model.model_copy(update={"coefficients": [0.0] * len(model.features)}))
    assert all(" → no effect " in line for line in unweighted), unweighted


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RETURNFLOW_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DATABASE_URL", "")
    return tmp_path / "data"


def test_train_refuses_an_empty_store_and_show_says_none_is_installed(data_dir: Path) -> None:
    trained = runner.invoke(app, ["risk", "train"])
    assert trained.exit_code == 1
    assert "Not trained: not enough labelled returns to learn from: 0 inspected returns" in trained.output
    shown = runner.invoke(app, ["risk", "show"])
    assert shown.exit_code == 1 and "No learned risk model is installed" in shown.output


def test_train_learns_from_the_stores_inspected_returns_and_show_prints_it(data_dir: Path) -> None:
    settings = Settings()
    prepare_database(settings)
    asyncio.run(_seed_inspected_returns(settings.effective_database_url, 120))

    trained = runner.invoke(app, ["risk", "train", "--min-returns", "100"])

    assert trained.exit_code == 0, trained.output
    assert "Trained risk model" in trained.output and "held-out AUC: model" in trained.output
    installed = json.loads(settings.risk_model_path.read_text())
    assert installed["trained_on"] == 120 and installed["format"] == 1
    shown = runner.invoke(app, ["risk", "show"])
    assert shown.exit_code == 0 and "trained on 120 labelled returns" in shown.output
    assert "per standard deviation" in shown.output


async def _seed_inspected_returns(url: str, count: int) -> None:
    """Inspected returns: every third from a one-order account claiming damage on an expensive item, found
    not as described; the others from regular customers, fine."""
    database = Database(url)
    try:
        async with database.transaction() as session:
            for n in range(count):
                abuse = n % 3 == 0
                body = order_body(customer_id=f"C-seed-{n if abuse else n % 7}")
                order_id = f"O-seed-{n}"
                await upsert_order(session, order_id, OrderIn.model_validate(body))
                view = view_through(Status.REQUESTED, Status.INSPECTED)
                line = view.lines[0].model_copy(
                    update={
                        "reason": Reason.DAMAGED if abuse else Reason.SIZE_FIT,
                        "liability": "merchant" if abuse else "customer",
                        "unit_price": Decimal("400.00") if abuse else Decimal("25.00"),
                        "condition": "not_as_described" if abuse else "as_new",
                    }
                )
                view = view.model_copy(
                    update={
                        "id": f"ret_seed_{n}",
                        "order_id": order_id,
                        "customer_id": body["customer_id"],
                        "lines": [line],
                        "created_at": NOW - timedelta(days=count - n),
                    }
                )
                await save_return(session, view, revision=1)
    finally:
        await database.dispose()


async def test_an_installed_model_raises_the_preview_and_names_its_factors(api: Callers, model: RiskModel) -> None:
    save_model(model, api.settings.risk_model_path)
    try:
        order_id = await put_order(api, lines=[_expensive_line()], payments=[])
        line = {"line_id": "L1", "quantity": 1, "reason": "damaged"}
        preview = await api.service.post("/v1/returns/preview", json=return_body(order_id=order_id, lines=[line]))
        assert preview.status_code == 200, preview.text
        assert preview.json()["risk"] == "high"
        assert any(r.startswith(f"learned model {model.version}: high") for r in preview.json()["risk_reasons"])
    finally:
        api.settings.risk_model_path.unlink()


def _expensive_line() -> dict:
    line = order_body()["lines"][0]
    return {**line, "unit_price": "450.00", "quantity": 1}
