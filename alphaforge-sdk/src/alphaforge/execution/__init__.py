"""Execution: trading commands, the :class:`ExecutionClient` seam and the OMS engine."""

from alphaforge.execution.client import EventHandler, ExecutionClient
from alphaforge.execution.engine import ExecEngineConfig, ExecutionEngine
from alphaforge.execution.ids import IdGenerator
from alphaforge.execution.messages import (
    CancelAllOrders,
    CancelOrder,
    ContingencyType,
    ModifyOrder,
    OrderList,
    SubmitOrder,
    SubmitOrderList,
    TradingCommand,
)
from alphaforge.execution.oms import OmsType

__all__ = [
    "CancelAllOrders",
    "CancelOrder",
    "ContingencyType",
    "EventHandler",
    "ExecEngineConfig",
    "ExecutionClient",
    "ExecutionEngine",
    "IdGenerator",
    "ModifyOrder",
    "OmsType",
    "OrderList",
    "SubmitOrder",
    "SubmitOrderList",
    "TradingCommand",
]
