"""Prepare the test broker's database: migrate, create topics, a user and its token.

Runs in the DASF venv with this folder as the working directory::

    python provision.py '{"migrate": true, "user": "dasf-user",
                          "topics": [{"name": "demo", "public": true}]}'

Prints one JSON line ``{"token": "<key>"}`` (the user's DRF token) on stdout. Topics are
created with dasf_broker's own ``dasf_topic`` management command:

* public topics (``--anonymous``): anybody may publish and consume; the user may consume too;
* protected topics: only the user may publish, consume and view the status.

An existing topic is left as it is. ``store`` sets the topic's ``--store-messages`` mode.
"""

import json
import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "testbroker.settings")

import django  # noqa: E402

django.setup()

from dasf_broker.models import BrokerTopic  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402


def main(spec: dict) -> dict:
    if spec.get("migrate"):
        call_command("migrate", interactive=False, verbosity=0)
    username = spec.get("user", "dasf-user")
    user, _ = get_user_model().objects.get_or_create(username=username)
    token, _ = Token.objects.get_or_create(user=user)
    for topic in spec.get("topics", []):
        name = topic["name"]
        if BrokerTopic.objects.filter(slug=name).exists():
            continue
        options = ["--new"]
        if topic.get("store"):
            options += ["--store-messages", topic["store"]]
        if topic.get("public", True):
            call_command("dasf_topic", name, *options, "--anonymous")
            call_command("dasf_topic", name, "-c", username)
        else:
            call_command("dasf_topic", name, *options, "-c", username, "-p", username)
            call_command("dasf_topic", name, "-vs", username)
    return {"token": token.key}


if __name__ == "__main__":
    result = main(json.loads(sys.argv[1]) if len(sys.argv) > 1 else {})
    sys.stdout.write(json.dumps(result) + "\n")
