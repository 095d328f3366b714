"""OCPP 1.6J: the handlers of the messages a charge point sends."""
