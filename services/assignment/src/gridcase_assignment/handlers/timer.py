"""The escalation timer's tick."""

from gridcase_assignment import metrics
from gridcase_assignment.domain.model import Case, Decision, escalate
from gridcase_assignment.handlers.context import Context, department_head, update_case


async def escalate_due_ladders(context: Context) -> int:
    """Fires every ladder level whose time has come; returns how many fired."""
    fired = 0
    for case_id in await context.repository.cases_with_ladder_due(context.clock()):

        async def decide(case: Case) -> Decision | None:
            head = await department_head(context, case.department)
            decision = Decision(case)
            for stage in sorted(case.ladders):
                step = escalate(
                    decision.case,
                    stage,
                    policy=context.ladder,
                    department_head=head,
                    now=context.clock(),
                )
                decision = Decision(step.case, (*decision.events, *step.events))
            return decision

        decision = await update_case(context, case_id, decide)
        fired += len(decision.events) if decision else 0
    return fired


async def refresh_supervisor_queue_size(context: Context) -> None:
    metrics.SUPERVISOR_QUEUE_SIZE.set(await context.repository.supervisor_queue_size())


async def scan_ladders(context: Context) -> None:
    """Fires the escalation levels whose time has come; refreshes the queue gauge."""
    await escalate_due_ladders(context)
    await refresh_supervisor_queue_size(context)
