"""The OCPP central system: chargers connect over WebSocket at /ocpp/{ChargePointId}."""
