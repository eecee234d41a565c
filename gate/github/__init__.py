"""GitHub integration: read where the gate runs, talk to the API, speak the runner's command channel.

`gate.github.publish.open_session` is the one entry point the runner uses: inside GitHub Actions
(or with `--github`) it reads the event, plans what the event changes about the run, and returns
a `Session` that opens a check run before the checks and publishes the verdict after them. What
the annotations and the job summary say is rendered in gate/report/. This file imports nothing,
so the renderers can use the workflow-command primitives without loading the publisher.
"""
