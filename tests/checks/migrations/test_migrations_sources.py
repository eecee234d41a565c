"""Where the check gets migrations: PR-added files only, and a declared command it trusts only from the base."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tests.support.helpers import gate, git, git_repo, write_files

UNSAFE = "CREATE INDEX users_email ON users (email);\n"
SAFE = "SET lock_timeout = '2s';\nCREATE INDEX CONCURRENTLY users_email ON users (email);\n"


def config(extra: str = "") -> str:
    return "version: 1\npreset: launch\nchecks:\n  migrations:\n    enabled: true\n" + extra


def judged_paths(outcome_stdout: str) -> set[str]:
    found = json.loads(outcome_stdout)["findings"]
    return {f["location"]["path"] or f["location"]["name"] for f in found}


def pull_request(repo: Path, event_name: str) -> tuple[str, str, dict[str, str]]:
    """The repository's last commit as a pull request onto the one before: base, head, Actions environment."""
    base, head = git(repo, "rev-parse", "HEAD~1").strip(), git(repo, "rev-parse", "HEAD").strip()
    event = repo.parent / "event.json"
    event.write_text(
        json.dumps({"number": 7, "pull_request": {"number": 7, "base": {"sha": base}, "head": {"sha": head}}})
    )
    return base, head, {"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": event_name, "GITHUB_EVENT_PATH": str(event)}


def test_in_a_pull_request_only_the_migrations_it_adds_are_judged(tmp_path: Path) -> None:
    repo = git_repo(
        tmp_path / "repo",
        [
            {"gate.yml": config("    paths: ['db/*.sql']\n"), "db/0001_old.sql": UNSAFE},
            {"db/0002_new.sql": UNSAFE, "db/0001_old.sql": UNSAFE + "-- touched\n"},
        ],
    )
    base, head, _ = pull_request(repo, "pull_request")
    outcome = gate("check", "migrations", "--diff", f"{base}...{head}", "--format", "json", cwd=repo)
    assert outcome.exit_code == 1, outcome.output
    assert judged_paths(outcome.stdout) == {"db/0002_new.sql"}
    everything = gate("check", "migrations", "--format", "json", cwd=repo)
    assert judged_paths(everything.stdout) == {"db/0001_old.sql", "db/0002_new.sql"}


def test_in_a_pull_request_the_older_migrations_still_count_for_what_they_established(tmp_path: Path) -> None:
    proven = (
        "SET lock_timeout = '2s';\nALTER TABLE users ADD CONSTRAINT email_nn CHECK (email IS NOT NULL) NOT VALID;\n"
        "ALTER TABLE users VALIDATE CONSTRAINT email_nn;\n"
    )
    set_not_null = "SET lock_timeout = '2s';\nALTER TABLE users ALTER COLUMN email SET NOT NULL;\n"
    repo = git_repo(
        tmp_path / "repo",
        [
            {"gate.yml": config("    paths: ['db/*.sql']\n"), "db/0001.sql": proven, "db/0002.sql": "SELECT (;\n"},
            {"db/0003.sql": set_not_null},
        ],
    )
    base, head, _ = pull_request(repo, "pull_request")
    outcome = gate("check", "migrations", "--diff", f"{base}...{head}", cwd=repo)
    assert outcome.exit_code == 0, outcome.output
    repo_without_check = git_repo(
        tmp_path / "other", [{"gate.yml": config("    paths: ['db/*.sql']\n")}, {"db/0003.sql": set_not_null}]
    )
    base, head, _ = pull_request(repo_without_check, "pull_request")
    blocked = gate("check", "migrations", "--diff", f"{base}...{head}", cwd=repo_without_check)
    assert blocked.exit_code == 1 and "migrations.column.set-not-null" in blocked.output


def test_a_revision_that_looks_like_an_option_never_reaches_git_as_one(tmp_path: Path) -> None:
    repo = git_repo(tmp_path / "repo", [{"gate.yml": config("    paths: ['db/*.sql']\n"), "db/0001.sql": SAFE}])
    outcome = gate("check", "migrations", "--diff", "--output=/tmp/x", cwd=repo)
    assert outcome.exit_code == 2, outcome.output
    assert not Path("/tmp/x").exists()


def _printer(sql: str) -> str:
    return f"    command: [{json.dumps(sys.executable)}, '-c', {json.dumps(f'print({sql!r})')}]\n"


def test_a_declared_command_s_sql_is_judged_and_placed_on_its_gate_yml_line(tmp_path: Path) -> None:
    write_files(tmp_path, {"gate.yml": config(_printer("BEGIN;\n" + UNSAFE + "COMMIT;"))})
    outcome = gate("check", "migrations", "--format", "json", cwd=tmp_path)
    found = json.loads(outcome.stdout)["findings"]
    assert outcome.exit_code == 1
    assert {f["rule_id"] for f in found} == {"migrations.index.not-concurrent", "migrations.lock-timeout.missing"}
    assert all(f["location"]["name"] == "checks.migrations.command" for f in found)
    assert "line 2 of what" in found[0]["message"]


def test_a_command_runs_once_per_migration_file_with_django_s_app_and_name(tmp_path: Path) -> None:
    script = "import sys; print('-- ' + ' '.join(sys.argv[1:])); print('CREATE INDEX i ON ' + sys.argv[1] + ' (a);')"
    command = f"    command: [{json.dumps(sys.executable)}, '-c', {json.dumps(script)}, '{{app}}', '{{stem}}']\n"
    files = {
        "gate.yml": config(command + "    command_paths: ['*/migrations/0*.py']\n"),
        "shop/migrations/0002_add_index.py": "# Django migration\n",
        "shop/migrations/__init__.py": "",
    }
    write_files(tmp_path, files)
    outcome = gate("check", "migrations", "--format", "json", cwd=tmp_path)
    found = json.loads(outcome.stdout)["findings"]
    index = next(f for f in found if f["rule_id"] == "migrations.index.not-concurrent")
    assert index["location"]["path"] == "shop/migrations/0002_add_index.py"
    assert "on existing table shop" in index["message"]


def test_a_command_the_pull_request_changed_is_not_run_and_blocks(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    trusted = _printer(SAFE)
    hostile = f"    command: [{json.dumps(sys.executable)}, '-c', {json.dumps(f'open({str(marker)!r}, chr(119))')}]\n"
    repo = git_repo(tmp_path / "repo", [{"gate.yml": config(trusted)}, {"gate.yml": config(hostile)}])
    base, head, _ = pull_request(repo, "pull_request")
    outcome = gate("check", "migrations", "--diff", f"{base}...{head}", "--preset", "prototype", cwd=repo)
    assert outcome.exit_code == 1, outcome.output
    assert "migrations.command.untrusted" in outcome.output
    assert not marker.exists()
    git(repo, "checkout", "-q", "HEAD~1")
    kept = gate("check", "migrations", "--diff", f"{base}...{base}", cwd=repo)
    assert kept.exit_code == 0, kept.output
    git(repo, "checkout", "-q", head)
    gate("check", "migrations", cwd=repo)  # outside a PR gate.yml is the user's own: it runs
    assert marker.exists()


def test_a_pull_request_event_selects_the_added_migrations_by_itself(tmp_path: Path) -> None:
    repo = git_repo(
        tmp_path / "repo",
        [{"gate.yml": config("    paths: ['db/*.sql']\n"), "db/0001.sql": UNSAFE}, {"db/0002.sql": UNSAFE}],
    )
    _, _, env = pull_request(repo, "pull_request")
    outcome = gate("check", "migrations", "--format", "json", cwd=repo, env=env)
    assert judged_paths(outcome.stdout) == {"db/0002.sql"}


def test_a_pull_request_target_job_never_runs_the_pr_s_code_even_with_the_base_s_command(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    command = f"    command: [{json.dumps(sys.executable)}, 'print_sql.py']\n"
    printer = f"open({str(marker)!r}, 'w')\nprint('SELECT 1;')\n"
    repo = git_repo(
        tmp_path / "repo",
        [{"gate.yml": config(command), "print_sql.py": "print('SELECT 1;')\n"}, {"print_sql.py": printer}],
    )
    base, _, env = pull_request(repo, "pull_request_target")
    outcome = gate("check", "migrations", "--preset", "prototype", cwd=repo, env=env)
    assert outcome.exit_code == 1 and "pull_request_target" in outcome.output, outcome.output
    assert not marker.exists()
    git(repo, "checkout", "-q", base)  # the default checkout of pull_request_target: the base's code
    assert gate("check", "migrations", "--preset", "prototype", cwd=repo, env=env).exit_code == 0
