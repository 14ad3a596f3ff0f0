"""A small Lambda function: fetches nothing, but proves its dependencies import and work."""

import orjson
import requests


def handler(event, context):
    session = requests.Session()
    return {
        "statusCode": 200,
        "body": orjson.dumps({"hello": event.get("name", "world"), "adapters": sorted(session.adapters)}).decode(),
    }
