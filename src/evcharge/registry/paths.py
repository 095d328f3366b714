"""The seed's path hierarchy: the numbers in a family-A URL, and how messages name them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from evcharge.compat.params import ContractNo, CustomerNo, DeviceNo, GatewayNo

LEVELS = ("customer", "contract", "gateway", "EV charging device")
SEGMENTS = ("contracts", "gateways", "evchargingdevices")


@dataclass(frozen=True, slots=True)
class Path:
    """The integer numbers of a seed path, outermost first."""

    customer: int
    contract: int | None = None
    gateway: int | None = None
    device: int | None = None

    def name(self, level: int) -> str:
        """ "Gateway 7" for level 3."""
        number = (self.customer, self.contract, self.gateway, self.device)[level - 1]
        return f"{LEVELS[level - 1]} {number}".capitalize().replace("Ev ", "EV ")

    @property
    def url(self) -> str:
        """The canonical path of the deepest level given (`/api/customers/1/contracts/2`):
        built from the parsed numbers, never from the request's text, so `+1`, `01` or
        `1%0B` can never reach a header."""
        url = f"/api/customers/{self.customer}"
        for segment, number in zip(
            SEGMENTS, (self.contract, self.gateway, self.device), strict=True
        ):
            if number is None:
                break
            url += f"/{segment}/{number}"
        return url

    def missing(self, level: int) -> str:
        """ "No gateway 7 exists under contract 6 of customer 1." for level 3."""
        numbers = (self.customer, self.contract, self.gateway, self.device)
        names = [f"{LEVELS[i]} {numbers[i]}" for i in range(level)]
        parents = " of ".join(reversed(names[:-1]))
        return f"No {names[-1]} exists" + (f" under {parents}." if parents else ".")


def _customer(customer_id: CustomerNo) -> Path:
    return Path(customer_id)


def _contract(customer_id: CustomerNo, contract_no: ContractNo) -> Path:
    return Path(customer_id, contract_no)


def _gateway(customer_id: CustomerNo, contract_no: ContractNo, gateway_no: GatewayNo) -> Path:
    return Path(customer_id, contract_no, gateway_no)


def _device(
    customer_id: CustomerNo, contract_no: ContractNo, gateway_no: GatewayNo, device_no: DeviceNo
) -> Path:
    return Path(customer_id, contract_no, gateway_no, device_no)


CustomerPath = Annotated[Path, Depends(_customer)]
ContractPath = Annotated[Path, Depends(_contract)]
GatewayPath = Annotated[Path, Depends(_gateway)]
DevicePath = Annotated[Path, Depends(_device)]
