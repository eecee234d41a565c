"""The GitHub workflows for the detected host, built on docs/examples/workflows/.

Vercel, Netlify, Render and Railway report each preview to GitHub as a deployment, so the
preview job runs on `deployment_status` and takes the URL from the event (limited to the
platform's hosts). Fly review apps report nothing; their URL follows the fly-pr-review-apps
naming, computed from the pull request's number.
"""

from __future__ import annotations

from dataclasses import dataclass

CHECKOUT = "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2"
IMAGE = "docker://ghcr.io/launch-gate/launch-gate:v0.1.0"
PREVIEW_HOSTS = {
    "vercel": "*.vercel.app",
    "netlify": "*.netlify.app",
    "render": "*.onrender.com",
    "railway": "*.up.railway.app",
}

PULL_REQUEST = f"""\
# Written by `gate init`. Make "launch-gate / pull request" a required status check of the default
# branch: secrets, dependencies and env variables are judged on every pull request.
name: launch-gate

on:
  pull_request:

permissions:
  contents: read

jobs:
  gate:
    runs-on: ubuntu-24.04
    timeout-minutes: 20
    permissions:
      contents: read
      checks: write # the check run and its annotations
      pull-requests: write # the one summary comment
    steps:
      - uses: {CHECKOUT}
        with:
          persist-credentials: false
          # The base commit must be present to scan only what the pull request adds.
          fetch-depth: 0
      - uses: {IMAGE}
        with:
          github-token: ${{{{ github.token }}}}
          check-name: launch-gate / pull request
          comment: true
"""

PREVIEW_JOB = f"""\
name: launch-gate preview

on:
  {{trigger}}:

permissions:
  contents: read

jobs:
  preview:{{condition}}
    runs-on: ubuntu-24.04
    timeout-minutes: 20
    permissions:
      contents: read
      checks: write
    steps:
      - uses: {CHECKOUT}
        with:
          persist-credentials: false{{checkout}}
      - uses: {IMAGE}
        with:
          github-token: ${{{{{{{{ github.token }}}}}}}}
          checks: http
          check-name: launch-gate / preview
{{target}}"""

DEPLOYMENT_HEADER = """\
# Written by `gate init` for {platform}, which reports each preview deployment to GitHub; when one
# succeeds, the gate tests the deployed URL against gate.yml. Make "launch-gate / preview" required.
"""
DEPLOYMENT = {
    "trigger": "deployment_status",
    "condition": "\n    # A pending or failed deployment has no preview to test.\n"
    "    if: github.event.deployment_status.state == 'success'",
    "checkout": "\n          ref: ${{ github.event.deployment.sha }}",
    "target": "          # Only test previews on the platform's hosts, whoever reported the deployment.\n"
    '          preview-hosts: "{hosts}"\n',
}

FLY_HEADER = """\
# Written by `gate init` for Fly.io. Fly review apps (superfly/fly-pr-review-apps) report no
# deployment to GitHub; their default name is pr-NUMBER-OWNER-REPO, so the URL is computed here.
# If your review-app workflow names apps differently, change `url` below. The http check waits
# for the app to answer (checks.http.wait in gate.yml).
"""
FLY = {
    "trigger": "pull_request",
    "condition": "",
    "checkout": "",
    "target": "          url: >-\n"
    "            https://pr-${{ github.event.pull_request.number }}-${{ github.repository_owner }}-${{\n"
    "            github.event.repository.name }}.fly.dev\n",
}


def preview_route(platform: str | None) -> str:
    """How the preview's URL reaches CI on this host, said in one line for gate.yml."""
    if platform in PREVIEW_HOSTS:
        return (
            f"{platform.capitalize()} reports each preview to GitHub as a deployment; "
            "launch-gate-preview.yml takes its URL from deployment_status."
        )
    if platform == "fly":
        return "Fly review apps report nothing; launch-gate-preview.yml computes pr-N-OWNER-REPO.fly.dev."
    return "No known host: pass the preview's URL to the action's `url` input (or set checks.http.url)."


@dataclass(frozen=True)
class Workflow:
    path: str
    text: str
    why: str


def workflows_for(platform: str | None) -> list[Workflow]:
    """The pull-request workflow always; a preview workflow when the host is known."""
    found = [Workflow(".github/workflows/launch-gate.yml", PULL_REQUEST, "every pull request")]
    if platform in PREVIEW_HOSTS:
        parts = {**DEPLOYMENT, "target": DEPLOYMENT["target"].format(hosts=PREVIEW_HOSTS[platform])}
        text = DEPLOYMENT_HEADER.format(platform=platform.capitalize()) + PREVIEW_JOB.format(**parts)
        found.append(Workflow(".github/workflows/launch-gate-preview.yml", text, f"{platform} deployment_status"))
    elif platform == "fly":
        text = FLY_HEADER + PREVIEW_JOB.format(**FLY)
        found.append(Workflow(".github/workflows/launch-gate-preview.yml", text, "fly review-app URL pattern"))
    return found
