"""The commands that write or explain a project's files: init, export, explain, schema, handover."""

from __future__ import annotations

from pathlib import Path

import click

from gate.errors import InputError


@click.command()
@click.argument("project", required=False, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--preset", default="launch", show_default=True, help="prototype, demo or launch.")
@click.option(
    "--path", "target", type=click.Path(path_type=Path), help="Where gate.yml goes (default PROJECT/gate.yml)."
)
@click.option("--force", is_flag=True, help="Overwrite existing files.")
@click.option("--dry-run", is_flag=True, help="Print what would be written; write nothing.")
@click.option("--preview", metavar="URL", help="Also probe this running preview (only its origin).")
@click.option("--template", is_flag=True, help="Only the preset's defaults, commented; read nothing.")
@click.option("-q", "--quiet", is_flag=True, help="No progress.")
def init(
    project: Path | None,
    preset: str,
    target: Path | None,
    force: bool,
    dry_run: bool,
    preview: str | None,
    template: bool,
    quiet: bool,
) -> None:
    """Read the project and write gate.yml, env.manifest.yml and the GitHub workflows for its host.

    Nothing in the project is run; without --preview nothing leaves the machine."""
    from gate.init.write import render_init, write_init

    root = (project or Path.cwd()).resolve()
    target = target or root / "gate.yml"
    if template:
        if dry_run:
            click.echo(render_init(preset), nl=False)
        else:
            write_init(target, preset, force=force)
            click.echo(f"wrote {target} for the '{preset}' preset; run `gate run` next")
        return
    from gate.init.report import init_project

    init_project(
        root, target, preset=preset, preview=preview, force=force, dry_run=dry_run, echo=click.echo, quiet=quiet
    )


@click.command()
@click.argument("rule_id", required=False)
@click.option("--list", "list_rules", is_flag=True, help="List every rule id with its title.")
def explain(rule_id: str | None, list_rules: bool) -> None:
    """Say what a rule means, why it matters for a launch, and how to fix it."""
    import difflib
    import textwrap

    from gate.checks import rule_docs

    docs = rule_docs()
    if list_rules or rule_id is None:
        for listed in docs.values():
            click.echo(f"{listed.id:<40} {listed.severity!s:<9} {listed.title}")
        return
    doc = docs.get(rule_id)
    if doc is None:
        guess = difflib.get_close_matches(rule_id, list(docs), n=1)
        raise InputError(
            f"unknown rule '{rule_id}'", hint=f"did you mean '{guess[0]}'?" if guess else "see `gate explain --list`"
        )
    wrap = textwrap.TextWrapper(width=88, initial_indent="  ", subsequent_indent="  ")
    click.echo(f"{doc.id}: {doc.title} (default severity: {doc.severity})\n")
    click.echo("Why it matters:\n" + wrap.fill(doc.why) + "\n")
    click.echo("How to fix:\n" + wrap.fill(doc.fix))


@click.command()
@click.option("--report", "report_path", type=click.Path(path_type=Path), required=True, help="The last JSON report.")
@click.option("--config", "config_path", type=click.Path(path_type=Path), help="gate.yml to use (default: ./gate.yml).")
@click.option("--preset", help="Stage whose rollback budget applies: prototype, demo or launch.")
@click.option("--markdown", "markdown_path", type=click.Path(path_type=Path), help="Write the Markdown page here.")
@click.option("--html", "html_path", type=click.Path(path_type=Path), help="Write the standalone HTML page here.")
def handover(
    report_path: Path, config_path: Path | None, preset: str | None, markdown_path: Path | None, html_path: Path | None
) -> None:
    """Write the one-page handover: domains, mail, env names, secrets to rotate, monitoring, deploy and
    rollback, open risks and what was not checked (Markdown on stdout unless --markdown/--html)."""
    from gate.checks import config_schemas
    from gate.config import load_config
    from gate.handover.build import build
    from gate.handover.render import markdown, standalone_html
    from gate.handover.report import read_report

    document = build(load_config(config_path, check_schemas=config_schemas(), preset=preset), read_report(report_path))
    if markdown_path is None and html_path is None:
        click.echo(markdown(document), nl=False)
    if markdown_path is not None:
        markdown_path.write_text(markdown(document), encoding="utf-8")
    if html_path is not None:
        html_path.write_text(standalone_html(document), encoding="utf-8")


@click.command()
def schema() -> None:
    """Print the JSON Schema of gate.yml (for editors and CI validation)."""
    import json

    from gate.checks import config_schemas
    from gate.config import full_schema

    click.echo(json.dumps(full_schema(config_schemas()), indent=2))


@click.command(name="export")
@click.argument("tool", type=click.Choice(["k6", "locust"]))
@click.option("--config", "config_path", type=click.Path(path_type=Path), help="gate.yml to use (default: ./gate.yml).")
@click.option("--preset", help="Stage whose budgets become the thresholds: prototype, demo or launch.")
@click.option("--url", help="Load this URL instead of checks.http.url.")
@click.option("--duration", help="How long each route is loaded, like 5m (default: load.duration or 60s).")
@click.option("--out", type=click.Path(path_type=Path), help="Write the script here (default: stdout).")
def export_(
    tool: str, config_path: Path | None, preset: str | None, url: str | None, duration: str | None, out: Path | None
) -> None:
    """Write a k6 script or locustfile with checks.http's routes, login and budgets as thresholds.

    For more load than one CI runner makes: run it on k6's or Locust's own engine, then judge its
    summary with `gate import`.
    """
    import dataclasses

    from gate.checks import config_schemas
    from gate.checks.http.external_load import export_plan
    from gate.config import Override, load_config
    from gate.load.export import k6_script, locustfile

    overrides = [Override("http", "url", url, "--url")] if url else []
    config = load_config(config_path, check_schemas=config_schemas(), preset=preset, overrides=overrides)
    # The header's `gate import` command must judge with these same budgets, so it names the same file and preset.
    same_budgets = [*(["--config", str(config_path)] if config_path else []), *(["--preset", preset] if preset else [])]
    plan = dataclasses.replace(
        export_plan(config.section("http"), duration=duration),
        script_name=out.name if out is not None else None,
        import_options=same_budgets,
    )
    script = k6_script(plan) if tool == "k6" else locustfile(plan)
    if out is None:
        click.echo(script, nl=False)
    else:
        out.write_text(script, encoding="utf-8")
