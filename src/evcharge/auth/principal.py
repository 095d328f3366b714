"""Who is calling, and the checks every router uses to keep a customer key inside its own data.

The orders router (family B) uses:
- `CustomerScoped` (dependency alias): the caller's `Principal`; declaring it opens the
  route to customer keys, so the handler must scope with the two calls below.
  Routes that declare neither it nor a `CustomerTree` answer 404 to customer keys.
- `principal.require_customer_uuid(uuid)`: NotFound unless the caller may see that
  customer's things (admin: always); `principal.may_see_customer_uuid(uuid)` is the same
  test as a bool, for rules that answer a missing customer otherwise (a 400 field error).
- `await device_owner(session, device_uuid)`: the uuid of the customer a device belongs to
  (None when there is no such device), to check a device with the calls above.
- `principal.customer_filter(requested)`: the customer uuid a listing must filter by
  (admin: `requested`, None meaning all; customer key: its own uuid, or `NO_CUSTOMER`,
  which matches nothing, when another customer was asked for).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant

from evcharge.compat.params import NotInt32, parse_int32
from evcharge.errors import Forbidden, Invalid, NotFound, Unauthorized
from evcharge.registry.paths import Path

Role = Literal["admin", "customer"]

NO_CUSTOMER = uuid.UUID(int=0)
"""A customer uuid that no row has: the filter of a listing that must come back empty."""

READS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class Principal:
    """The key a request was authenticated with."""

    key_id: str
    role: Role
    customer_number: int | None = None
    customer_uuid: uuid.UUID | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def may_see_customer_number(self, number: int) -> bool:
        return self.is_admin or self.customer_number == number

    def require_customer_number(self, number: int) -> None:
        """NotFound, worded exactly as for a customer that does not exist."""
        if not self.may_see_customer_number(number):
            raise NotFound(Path(number).missing(1))

    def may_see_customer_uuid(self, customer: uuid.UUID | None) -> bool:
        """For rules where a missing customer is not a 404 (e.g. a 400 naming the field):
        when False, answer exactly what a customer that does not exist gets."""
        if self.is_admin:
            return True
        return customer is not None and customer == self.customer_uuid

    def require_customer_uuid(self, customer: uuid.UUID | None, message: str | None = None) -> None:
        """NotFound (with the caller's message for a missing thing) unless this key may
        see customer `customer`'s things."""
        if not self.may_see_customer_uuid(customer):
            raise NotFound(message)

    def customer_filter(self, requested: uuid.UUID | None) -> uuid.UUID | None:
        if self.is_admin:
            return requested
        own = self.customer_uuid or NO_CUSTOMER
        if requested is not None and requested != own:
            return NO_CUSTOMER
        return own


def principal_of(request: Request) -> Principal | None:
    found = request.scope.get("state", {}).get("principal")
    return found if isinstance(found, Principal) else None


def current_principal(request: Request) -> Principal:
    principal = principal_of(request)
    if principal is None:  # only on the open paths, which do not ask for it
        raise Unauthorized()
    return principal


def customer_scoped(request: Request) -> Principal:
    """Same as current_principal; its presence marks the route as serving customer keys."""
    return current_principal(request)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
"""The caller. Does not open an admin-only route to customer keys."""

CustomerScoped = Annotated[Principal, Depends(customer_scoped)]
"""The caller, on a route that serves customer keys and scopes what it reads and writes."""


class CustomerTree:
    """Router dependency for family A's `api/customers/{customerId}/…` tree.

    A customer key sees only its own customer's subtree: any other customerId answers
    404 with the very message of a customer that does not exist, and a customerId that
    is not an Int32 answers 400 here, before anything else runs. (The one route without
    a customerId, the customer list, filters by the key itself.) Within its own tree it
    may read, and use only the write methods in `customer_writes` (others: 403)."""

    def __init__(self, customer_writes: frozenset[str] = frozenset()) -> None:
        self.customer_writes = customer_writes

    async def __call__(self, request: Request) -> None:
        principal = current_principal(request)
        if principal.is_admin:
            return
        raw = request.path_params.get("customerId")
        if raw is not None:
            # The route's own parser, so the check and the route see the same number;
            # text it cannot read is refused here (fail closed), never waved through.
            try:
                number = parse_int32(str(raw), "customerId")
            except NotInt32 as exc:
                raise Invalid(errors={"customerId": [str(exc)]}) from None
            principal.require_customer_number(number)
        method = request.method.upper()
        if method not in READS and method not in self.customer_writes:
            raise Forbidden("A customer API key may read its registry entries but not change them.")


_serves_customers: dict[int, bool] = {}


def _declares_customer_scope(dependant: Dependant) -> bool:
    for dependency in dependant.dependencies:
        call = dependency.call
        if call is customer_scoped or isinstance(call, CustomerTree):
            return True
        if _declares_customer_scope(dependency):
            return True
    return False


async def route_guard(request: Request) -> None:
    """App-wide: a customer key reaches only routes that declare customer scoping;
    any other route answers 404 as if it did not exist."""
    principal = principal_of(request)
    if principal is None or principal.is_admin:
        return
    route: Any = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:  # cannot tell whether the route scopes its data: refuse
        raise NotFound(f"No HTTP resource was found that matches the request URI '{request.url}'.")
    serves = _serves_customers.get(id(route))
    if serves is None:
        serves = _serves_customers[id(route)] = _declares_customer_scope(dependant)
    if not serves:
        raise NotFound(f"No HTTP resource was found that matches the request URI '{request.url}'.")
