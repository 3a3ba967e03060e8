"""Property-based API testing: schemathesis generates requests from /openapi.json.

Valid and invalid requests alike must get an answer the schema describes —
status code, content type and body — and never a server error. Each operation
gets a bounded number of examples in both generation modes (schema-valid and
schema-violating), so the run stays quick; both database backends are covered.

(The schemathesis pytest plugin's ``from_fixture`` does not work with pytest 9,
so this drives hypothesis directly with schemathesis's strategies.)
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from didrtc import Identity
from tests.discovery.discovery_support import FakeClock, listing_token, register

EXAMPLES = 50

# A schema-violating request must be refused with a 4xx; 413 (over a size limit) is
# one of the ways, and is missing from schemathesis's default list.
CONFIG = SchemathesisConfig.from_dict(
    {
        "checks": {
            "negative_data_rejection": {
                "expected-statuses": [400, 401, 403, 404, 405, 409, 413, 415, 422, 429]
            }
        }
    }
)

# No schema can say "a valid Ed25519 signature by this DID", "a did:key whose key
# decodes" or "a cursor this server issued": schema-valid requests to these operations
# are still refused (with a 4xx the document lists), so the "schema-valid data is
# accepted" check does not apply to them. Every other check does.
OPAQUE_INPUTS = {"POST /register", "DELETE /dids/{did}", "GET /dids/{did}", "GET /search"}


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_api_conforms_to_its_openapi_document(
    app: Flask, clock: FakeClock, mode: GenerationMode
) -> None:
    client = app.test_client()
    for index in range(3):  # so searches and lookups also produce non-empty answers
        register(client, listing_token(Identity.generate(), clock(), name=f"Listing {index}"))
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app, config=CONFIG)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 6  # schemathesis leaves out the schema document itself
    for operation in operations:
        label = f"{operation.method.upper()} {operation.path}"
        if mode is GenerationMode.NEGATIVE and label not in OPAQUE_INPUTS:
            continue  # nothing to violate: the operation takes no input
        excluded = [positive_data_acceptance] if label in OPAQUE_INPUTS else []
        _property_test(operation, mode, excluded)()


def _property_test(operation: Any, mode: GenerationMode, excluded: list[Any]) -> Any:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def check(case: Any) -> None:
        case.call_and_validate(excluded_checks=excluded)

    return check
