"""Network Firewall's error shapes, as moto exceptions that serialise through botocore's model.

Every class names a real error shape of the `network-firewall` API (botocore's service-2.json), so
boto3 raises a `ClientError` whose `Error.Code` is exactly what AWS would send and the code under test
can branch on it by name. `http_status` carries the status AWS uses: the model does not record it, and
moto would otherwise answer 400 for everything, which would hide 5xx handling (and boto3's retries).
"""

from moto.core.exceptions import ServiceException


class EmulatorError(ServiceException):
    """Base of the emulator's API errors; `http_status` is applied by the response layer."""

    http_status = 400


class InvalidRequestException(EmulatorError):
    """The request is malformed or breaks a rule-group constraint (capacity, priorities, actions...)."""

    code = "InvalidRequestException"


class InvalidTokenException(EmulatorError):
    """The UpdateToken is stale: someone else changed the rule group since it was described."""

    code = "InvalidTokenException"
    message = (
        "Update token is invalid. The token provided is out of date. "
        "Describe the resource to get the current update token."
    )


class ResourceNotFoundException(EmulatorError):
    """No rule group with that ARN, or that name and type, in this account and region."""

    code = "ResourceNotFoundException"


class ThrottlingException(EmulatorError):
    """Injected: the caller exceeded the request rate."""

    code = "ThrottlingException"
    message = "Rate exceeded"


class InternalServerError(EmulatorError):
    """Injected: the service failed; AWS answers 500, which SDKs treat as retryable."""

    code = "InternalServerError"
    message = "An internal error occurred. Retry your request."
    http_status = 500


class AccessDeniedException(EmulatorError):
    """Simulated (``api.set_access_check``): the caller's role is not allowed the call yet, as right after
    its policy changed and before IAM has propagated the change."""

    code = "AccessDeniedException"
