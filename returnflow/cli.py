"""The ``returnflow`` command line: API keys, migrations, the Temporal namespace and the dev stack.

    returnflow keys create --role service [--label TEXT]   prints the new key alone on stdout
    returnflow keys revoke KEY_ID
    returnflow operators create NAME [--language zh-Hans] [--reset]   asks for the password (or
        RETURNFLOW_OPERATOR_PASSWORD)
    returnflow operators disable NAME
    returnflow policy validate FILE | apply FILE | show   (JSON or YAML)
    returnflow db upgrade
    returnflow temporal setup   registers the search attributes, creates the Schedules (idempotent)
    returnflow risk train [--min-returns N] | show   the learned risk model (docs/assistance.md)
    returnflow stack

Configuration comes from the environment like every other process (see
``returnflow.settings``). Messages for people go to stderr so that
``KEY=$(returnflow keys create --role service)`` captures just the key.
"""

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, TypeVar, cast

import typer
import yaml
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from assist.risk_models import installed_model, save_model
from domain.policy import Policy
from domain.risk_model import MIN_LABELLED_RETURNS, weights_in_words
from returnflow.logging import configure_logging
from returnflow.process_exit import exit_without_teardown
from returnflow.run_async import run_async
from returnflow.settings import Settings
from returnflow.temporal import TemporalUnreachable, wait_for_temporal
from returnflow.temporal_setup import SetupDone, SetupRefused, setup_namespace
from store import audit, operators
from store.api_keys import Role as KeyRole
from store.api_keys import create_api_key, revoke_api_key
from store.db import Database, redacted
from store.migrate import prepare_database
from store.policies import current_policy, save_policy
from store.risk_history import LabelledReturn, labelled_returns

T = TypeVar("T")

app = typer.Typer(
    help="returnflow: returns and refunds as durable Temporal workflows.", no_args_is_help=True, add_completion=False
)
keys_app = typer.Typer(help="Create and revoke API keys.", no_args_is_help=True)
db_app = typer.Typer(help="The app database.", no_args_is_help=True)
policy_app = typer.Typer(help="The return policy: check, publish and show it.", no_args_is_help=True)
operators_app = typer.Typer(help="Operator accounts for the console.", no_args_is_help=True)
temporal_app = typer.Typer(help="The Temporal namespace returnflow runs in.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(operators_app, name="operators")
app.add_typer(db_app, name="db")
app.add_typer(policy_app, name="policy")
app.add_typer(temporal_app, name="temporal")
risk_app = typer.Typer(help="The learned risk model: train it on the store's returns, show it.", no_args_is_help=True)
app.add_typer(risk_app, name="risk")


class Role(StrEnum):
    service = "service"
    operator = "operator"


@keys_app.command("create")
def keys_create(
    role: Annotated[Role, typer.Option(help="service: backend systems; operator: warehouse staff and reviewers.")],
    label: Annotated[str, typer.Option(help="A note to tell keys apart, e.g. the system that uses it.")] = "",
) -> None:
    """Create an API key and print it (it is shown only this once)."""
    settings = Settings()
    prepare_database(settings)
    key_id, secret = run_async(
        in_transaction(
            settings.effective_database_url, lambda session: create_api_key(session, cast(KeyRole, role.value), label)
        )
    )
    typer.echo(f"Created {role.value} key {key_id}. Keep the key secret; it is not shown again.", err=True)
    typer.echo(secret)


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(help="The key's id (key_…), not the secret.")]) -> None:
    """Revoke an API key; requests made with it are refused from now on."""
    settings = Settings()
    prepare_database(settings)
    if not run_async(in_transaction(settings.effective_database_url, lambda session: revoke_api_key(session, key_id))):
        typer.echo(f"No active key with id {key_id}.", err=True)
        raise typer.Exit(1)
    typer.echo(f"Revoked {key_id}.", err=True)


@operators_app.command("create")
def operators_create(
    name: Annotated[str, typer.Argument(help="The login name; the audit trail names the operator by it.")],
    password: Annotated[
        str,
        typer.Option(
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            envvar="RETURNFLOW_OPERATOR_PASSWORD",
            help=f"At least {operators.MIN_PASSWORD_LENGTH} characters; asked for when not given.",
        ),
    ],
    language: Annotated[str, typer.Option(help="en or zh-Hans; the operator can switch in the console.")] = "en",
    reset: Annotated[bool, typer.Option(help="Give an existing operator this password and enable it again.")] = False,
) -> None:
    """Create an operator account for the console (or, with --reset, set a new password)."""
    settings = Settings()
    prepare_database(settings)
    try:
        run_async(
            in_transaction(
                settings.effective_database_url,
                lambda session: operators.save_operator(
                    session, name, password, datetime.now(UTC), language, replace=reset
                ),
            )
        )
    except operators.OperatorRefused as refused:
        typer.echo(f"Not created: {refused}.", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"Operator {name} can log in to the console now.", err=True)


@operators_app.command("disable")
def operators_disable(name: Annotated[str, typer.Argument(help="The operator's login name.")]) -> None:
    """Disable an operator: its sessions end at their next request and it can no longer log in."""
    settings = Settings()
    prepare_database(settings)
    disabled = run_async(
        in_transaction(
            settings.effective_database_url,
            lambda session: operators.disable_operator(session, name, datetime.now(UTC)),
        )
    )
    if not disabled:
        typer.echo(f"No enabled operator named {name}.", err=True)
        raise typer.Exit(1)
    typer.echo(f"Disabled {name}.", err=True)


PolicyFile = Annotated[
    Path, typer.Argument(help="A policy document, .json or .yaml/.yml.", exists=True, dir_okay=False, readable=True)
]


def load_policy(path: Path) -> Policy:
    """Read and validate a policy file; on any problem print each field and why, and exit 1."""
    text = path.read_text()
    try:
        data = yaml.safe_load(text) if path.suffix.lower() in (".yaml", ".yml") else json.loads(text)
    except (yaml.YAMLError, json.JSONDecodeError) as error:
        typer.echo(f"{path}: not valid {path.suffix.lstrip('.').upper() or 'JSON'}: {error}", err=True)
        raise typer.Exit(1) from None
    try:
        return Policy.model_validate(data)
    except ValidationError as invalid:
        for problem in invalid.errors():
            field = ".".join(str(part) for part in problem["loc"]) or "(document)"
            typer.echo(f"{path}: {field}: {problem['msg']}", err=True)
        raise typer.Exit(1) from None


@policy_app.command("validate")
def policy_validate(path: PolicyFile) -> None:
    """Check a policy file without publishing it."""
    load_policy(path)
    typer.echo(f"{path}: valid", err=True)


@policy_app.command("apply")
def policy_apply(path: PolicyFile) -> None:
    """Publish a policy file as the next version; running returns keep theirs."""
    policy = load_policy(path)
    settings = Settings()
    prepare_database(settings)

    async def publish(session: AsyncSession) -> int:
        version = await save_policy(session, policy)
        await audit.record(session, "cli", "policy.publish", f"policy:{version}", file=str(path))
        return version

    version = run_async(in_transaction(settings.effective_database_url, publish))
    typer.echo(f"Published policy version {version}.", err=True)


@policy_app.command("show")
def policy_show(as_yaml: Annotated[bool, typer.Option("--yaml", help="Print YAML instead of JSON.")] = False) -> None:
    """Print the current policy (a good start for a file to edit and apply)."""
    settings = Settings()
    prepare_database(settings)
    version, policy = run_async(in_transaction(settings.effective_database_url, current_policy))
    document = policy.model_dump(mode="json")
    typer.echo(f"# policy version {version}", err=True)
    typer.echo(yaml.safe_dump(document, sort_keys=False) if as_yaml else json.dumps(document, indent=2))


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the database migrations (safe to run on every deploy)."""
    settings = Settings()
    prepare_database(settings)
    typer.echo(f"Database is up to date: {redacted(settings.effective_database_url)}", err=True)


@temporal_app.command("setup")
def temporal_setup() -> None:
    """Register the search attributes and create or update the Schedules (safe to run on every deploy)."""
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)

    async def set_up() -> SetupDone:
        client = await wait_for_temporal(settings, give_up_after=settings.temporal_wait_seconds or None)
        return await setup_namespace(client, settings)

    try:
        done = run_async(set_up())
    except (TemporalUnreachable, SetupRefused) as error:
        typer.echo(f"Not set up: {error}", err=True)
        exit_without_teardown(1)
    where = f"namespace {settings.temporal_namespace} at {settings.temporal_address}"
    typer.echo(
        f"Search attributes of {where}: added {', '.join(done.registered) or 'none'}; "
        f"already there {', '.join(done.already_registered) or 'none'}.",
        err=True,
    )
    typer.echo(f"Schedules: {', '.join(done.schedules)}.", err=True)
    exit_without_teardown(0)


@risk_app.command("train")
def risk_train(
    min_returns: Annotated[
        int, typer.Option(help="Refuse to train on fewer labelled (inspected) returns than this.")
    ] = MIN_LABELLED_RETURNS,
) -> None:
    """Fit the model on the store's inspected returns, compare it with the rules on held-out returns, install it."""
    from assist.risk_training import NotEnoughReturns, train  # imported here: scikit-learn is slow to import

    settings = Settings()
    prepare_database(settings)

    async def gather(session: AsyncSession) -> list[LabelledReturn]:
        _, policy = await current_policy(session)
        return await labelled_returns(session, policy.risk)

    labelled = run_async(in_transaction(settings.effective_database_url, gather))
    try:
        model = train(labelled, minimum=min_returns)
    except NotEnoughReturns as refused:
        typer.echo(f"Not trained: {refused}", err=True)
        raise typer.Exit(1) from None
    save_model(model, settings.risk_model_path)
    typer.echo(
        f"Trained risk model {model.version} on {model.trained_on} labelled returns.\n"
        f"  held-out AUC: model {model.held_out_auc:.3f}, rules {model.rules_held_out_auc:.3f}\n"
        f"  installed at {settings.risk_model_path}; new returns are judged by the higher of both levels.",
        err=True,
    )


@risk_app.command("show")
def risk_show() -> None:
    """Print the installed model's weights in words."""
    model = installed_model(Settings().risk_model_path)
    if model is None:
        typer.echo("No learned risk model is installed (returnflow risk train); the rules alone judge.", err=True)
        raise typer.Exit(1)
    typer.echo(f"Risk model {model.version}, trained on {model.trained_on} labelled returns")
    typer.echo(f"held-out AUC {model.held_out_auc:.3f} (the rules: {model.rules_held_out_auc:.3f})")
    typer.echo(
        f"medium from {model.medium_probability:.0%}, high from {model.high_probability:.0%} likely to end badly"
    )
    for words in weights_in_words(model):
        typer.echo(f"  {words}")


@app.command("stack")
def stack() -> None:
    """Run the dev stack in this terminal: Temporal dev server, sandbox partners, worker and API."""
    from returnflow.stack import run_stack  # imported here: only this command needs it

    raise typer.Exit(run_stack(Settings()))


async def in_transaction(url: str, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run ``work`` in one transaction on a database opened for this command."""
    database = Database(url)
    try:
        async with database.transaction() as session:
            return await work(session)
    finally:
        await database.dispose()
