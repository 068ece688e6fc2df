"""Workarounds for stalls of kafka-python 3.0.12, each to be dropped once a release fixes
it (their tests say when: they reproduce the stall without the workaround)."""

import logging

from kafka import KafkaConsumer, KafkaProducer
from kafka.producer.transaction_manager import TransactionState

log = logging.getLogger(__name__)


def request_new_producer_id_after_reset(producer: KafkaProducer) -> None:
    """Works around a kafka-python 3.0.12 stall of the idempotent producer. When a batch
    already sent to the broker expires (the broker died or stalled with it in flight), the
    sender drops the producer id but leaves the transaction manager READY, and it asks for
    a new id only from UNINITIALIZED. From then on every batch waits for an id nobody
    requests, none expires, and every publish times out until the process restarts.
    Returning to UNINITIALIZED after the reset, as the Java client does, makes the sender
    request a new producer id as soon as a broker answers."""
    manager = producer._transaction_manager
    reset = manager.reset_producer_id

    def reset_and_request_new_id() -> None:
        with manager._lock:
            reset()
            manager._current_state = TransactionState.UNINITIALIZED

    manager.reset_producer_id = reset_and_request_new_id


def failed_for_good(producer: KafkaProducer) -> bool:
    """Whether a kafka-python 3.0.12 idempotent producer has stopped for good. A request
    for a producer id that times out (its broker stalled, or busy while the cluster moves
    leaders away from a broker that died) is fatal to it, where the Java client retries:
    from then on it fails every batch at once. Only a new producer publishes again."""
    return bool(producer._transaction_manager.has_fatal_error())


def finish_stalled_rebalance(consumer: KafkaConsumer) -> None:
    """Works around a kafka-python 3.0.12 stall. When a metadata change makes the group
    leader rejoin and the join outlasts one poll(), the leader's own new assignment clears
    the reason to rejoin before a later poll() collects the join's result: the member then
    stays "rebalancing" for good, sends no heartbeats, cannot commit, and the broker expels
    it while it keeps fetching. Asking for a rejoin makes the next poll() finish one."""
    coordinator = consumer._coordinator
    if coordinator.rebalance_in_progress() and not coordinator.need_rejoin():
        log.warning("the group join stalled half-way; rejoining")
        coordinator.request_rejoin()
