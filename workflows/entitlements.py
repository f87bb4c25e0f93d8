"""Digital goods of a return: the entitlement is revoked before the money goes back."""

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.orders import Order
    from domain.returns import virtual_lines
    from messages import return_activities as act
    from workflows.calls import partner
    from workflows.return_record import ReturnRecord


async def revoke_virtual_goods(record: ReturnRecord, order: Order) -> None:
    lines = virtual_lines(order, record.view.lines)
    if not lines:
        return
    view = record.view
    revoke = act.RevokeEntitlements(
        return_id=view.id,
        order_id=view.order_id,
        lines=[act.EntitlementLine(line_id=ln.line_id, sku=ln.sku, quantity=ln.quantity) for ln in lines],
    )
    await partner(act.REVOKE_ENTITLEMENTS, revoke)
    await record.note(f"revoked {len(lines)} digital entitlement(s)")
