"""Path parameters of the seed routes: .NET Int32 values, named as in the seeds."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

from evcharge.compat.binding import INT32_MAX, INT32_MIN

CustomerNo = Annotated[int, Path(alias="customerId", ge=INT32_MIN, le=INT32_MAX)]
ContractNo = Annotated[int, Path(alias="contractNo", ge=INT32_MIN, le=INT32_MAX)]
GatewayNo = Annotated[int, Path(alias="gatewayAssetId", ge=INT32_MIN, le=INT32_MAX)]
DeviceNo = Annotated[int, Path(alias="deviceAssetId", ge=INT32_MIN, le=INT32_MAX)]
