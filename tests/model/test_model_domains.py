"""The model-based concurrency test, extended to domains (issue 12).

The same machine as ``test_model_concurrency`` (same operations, faults, crashes, clock and invariants
I0-I6), on a stack that also blocks domains in a stateful domain-list group: executions now also replay
DNS findings, operators block, unblock and hand-edit domains too, and "the group" the invariants judge is
both groups together (IP hosts and domains never share a key: a domain holds no '/'). So every
interleaving of IP and domain writers, prunes, manual blocks and crashes keeps: confirmed domains in
the domain list (I1), nothing there the ledger does not hold (I2), manual domains never evicted (I3),
no protected domain ever written (I4), reports true (I5), and the list never empty (I6: the placeholder).
"""

from dataclasses import replace
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import rule, run_state_machine_as_test

from handlers.enforcement import PLACEHOLDER_TARGET, domain_list_capacity
from handlers.service import BlocklistService
from handlers.settings import DomainBlocking
from nfw_blocklist.findings import dns_finding, ip_and_domain_finding
from tests.integration import stack
from tests.model.conftest import PROFILE, World, model_profiles
from tests.model.scheduler import Operation
from tests.model.test_model_concurrency import (
    HOST_CAPACITY,
    MANUAL_NEVER_EVICTED,
    NO_MATCH_ALL,
    POOL,
    PROTECTED_NEVER_WRITTEN,
    SEEN_AGO,
    BlocklistModel,
    GroupWrite,
)

BLOCKABLE_DOMAINS = tuple(f"c2-{n}.blocklist.example" for n in range(HOST_CAPACITY + 1))
"""One more than the domain list holds, so the writer evicts domains too."""
PROTECTED_DOMAINS = ("s3.amazonaws.com", "vpn.corp.example")
"""Built-in (amazonaws.com) and configured (corp.example) never-block names."""
DOMAIN_POOL = (*BLOCKABLE_DOMAINS, *PROTECTED_DOMAINS)

PROFILES = model_profiles("NFW_MODEL_DOMAIN_EXAMPLES", ci=(25, 30), soak=(400, 60))


class DomainBlocklistModel(BlocklistModel):
    def __init__(self, world: World) -> None:
        super().__init__(world)
        domain_arn = stack.create_domain_group(
            capacity=domain_list_capacity(HOST_CAPACITY), name=f"domains-model-{world.examples}"
        )
        self.settings = replace(
            self.settings,
            domain_blocking=DomainBlocking.NETWORK_FIREWALL,
            domain_rule_group_arn=domain_arn,
            protected_domains=("corp.example",),
        )
        self.environments = [self._service(n) for n in range(len(self.environments))]

    def _service(self, seed: int) -> BlocklistService:
        service = super()._service(seed)
        if service.domain_writer is not None:
            service.domain_writer.sleep = service.writer.sleep
            service.domain_writer.wall_clock = service.writer.wall_clock
            service.domain_writer.rng = type(service.writer.rng)(seed)
        return service

    # -- what each operation does, for domains -----------------------------------------------------
    @rule(domain=st.sampled_from(DOMAIN_POOL), seen_ago=st.sampled_from(SEEN_AGO), env=st.integers(0, 1))
    def start_dns_execution(self, domain: str, seen_ago: float, env: int) -> None:
        """A response workflow execution for a DNS finding naming ``domain``."""
        self.findings += 1
        event = dns_finding(domain, f"model-dns-{self.findings}", self.clock() - seen_ago)

        self._start_finding(event, f"dns execution {domain}", env)

    @rule(
        host=st.sampled_from(POOL),
        domain=st.sampled_from(DOMAIN_POOL),
        seen_ago=st.sampled_from(SEEN_AGO),
        env=st.integers(0, 1),
    )
    def start_mixed_execution(self, host: str, domain: str, seen_ago: float, env: int) -> None:
        """A response workflow execution for a finding naming an IP and a domain: each kind takes its own
        writer, and the report for each must tell the truth on its own."""
        self.findings += 1
        event = ip_and_domain_finding(host, domain, f"model-mixed-{self.findings}", self.clock() - seen_ago)

        self._start_finding(event, f"mixed execution {host} {domain}", env)

    @rule(domain=st.sampled_from(DOMAIN_POOL))
    def start_manual_domain_block(self, domain: str) -> None:
        self._start(
            "manual_block",
            f"manual block {domain}",
            None,
            lambda service: service.manual_block(domain, "model test", None),
            host=domain,
        )

    @rule(domain=st.sampled_from(DOMAIN_POOL))
    def start_domain_unblock(self, domain: str) -> None:
        self._start(
            "unblock", f"unblock {domain}", None, lambda service: service.unblock(domain), host=domain
        )

    @rule(domain=st.sampled_from(BLOCKABLE_DOMAINS), add=st.booleans())
    def start_domain_hand_edit(self, domain: str, add: bool) -> None:
        """An operator edits the domain list in the console: DescribeRuleGroup, then UpdateRuleGroup."""
        arn = self.settings.domain_rule_group_arn
        self._start(
            "hand_edit",
            f"hand edit {'adding' if add else 'removing'} {domain}",
            None,
            lambda _: hand_edit_domains(self.network_firewall, arn, domain, add),
        )

    # -- the scheduler's view of every call ------------------------------------------------------
    def _intercept(self, op: Operation, service: str, method: str, request: dict[str, Any], make: Any) -> Any:
        if service == "dynamodb" and method == "delete_item":
            return self._judged_delete(
                op,
                request,
                lambda: super(DomainBlocklistModel, self)._intercept(op, service, method, request, make),
            )
        if service == "dynamodb" or method != "update_rule_group" or request.get("Type") != "STATEFUL":
            return super()._intercept(op, service, method, request, make)
        ours = op.kind != "hand_edit"
        before = self._group()[0]
        targets = set(request["RuleGroup"]["RulesSource"]["RulesSourceList"]["Targets"])
        if ours:
            if not targets:
                self._violate(NO_MATCH_ALL, f"{op.label} wrote an empty domain list")
            if targets & set(PROTECTED_DOMAINS):
                self._violate(
                    PROTECTED_NEVER_WRITTEN, f"{op.label} wrote {sorted(targets & set(PROTECTED_DOMAINS))}"
                )
        answer = self._with_faults(make, conflict=True)
        after = self._group()[0]
        self.history.append(GroupWrite(op, frozenset(before), frozenset(after)))
        op.writes += 1
        if ours:
            self._check_manual_kept(op, before - after)
        return answer

    def _judged_delete(self, op: Operation, request: dict[str, Any], delete: Any) -> Any:
        """I3 in the ledger: a confirmed, unexpired manual block's item goes only by its own unblock.

        (The group-level I3 cannot see a writer that deletes such an item and then, consistently,
        writes the host out: e.g. an IP writer that took a domain for a protected host.)
        """
        host = request["Key"][next(iter(request["Key"]))]["S"]
        before = self.judge_ledger.get(host) if not host.startswith("#") else None
        answer = delete()  # a refused conditional delete raises: nothing below runs
        unblocking = op.kind == "unblock" and op.facts.get("host") == host
        if (
            before is not None
            and before.source == "manual"
            and not before.pending
            and before.expires_at > self.clock()
            and not unblocking
        ):
            self._violate(MANUAL_NEVER_EVICTED, f"{op.label} deleted the ledger item of manual block {host}")
        return answer

    def _written(self, rules: list[dict[str, Any]]) -> set[str]:
        return super()._written(rules) | self._domains()

    def _domains(self) -> set[str]:
        answer = self.world.network_firewall.describe_rule_group(
            RuleGroupArn=self.settings.domain_rule_group_arn, Type="STATEFUL"
        )
        return set(answer["RuleGroup"]["RulesSource"]["RulesSourceList"]["Targets"]) - {PLACEHOLDER_TARGET}

    def _group(self) -> tuple[set[str], set[str]]:
        """Both groups as one: the IP hosts the owned rules drop, and the domains the list denies."""
        blocked, anywhere = super()._group()
        domains = self._domains()
        return blocked | domains, anywhere | domains

    def teardown(self) -> None:
        super().teardown()
        self.world.network_firewall.delete_rule_group(
            RuleGroupArn=self.settings.domain_rule_group_arn, Type="STATEFUL"
        )


def hand_edit_domains(client: Any, arn: str, domain: str, add: bool) -> None:
    described = client.describe_rule_group(RuleGroupArn=arn, Type="STATEFUL")
    group = described["RuleGroup"]
    source = group["RulesSource"]["RulesSourceList"]
    targets = [target for target in source["Targets"] if target not in (domain, PLACEHOLDER_TARGET)]
    source["Targets"] = [*targets, domain] if add else (targets or [PLACEHOLDER_TARGET])
    client.update_rule_group(
        RuleGroupArn=arn, Type="STATEFUL", UpdateToken=described["UpdateToken"], RuleGroup=group
    )


def test_no_interleaving_of_ip_and_domain_writers_breaks_an_invariant(world: World) -> None:
    run_state_machine_as_test(lambda: DomainBlocklistModel(world), settings=PROFILES[PROFILE])


def test_a_prune_keeps_a_domain_blocked_by_hand_and_a_manual_ip_alike(world: World) -> None:
    """Scripted: a manual domain block, a manual IP block, then a prune alone; every invariant holds."""
    model = DomainBlocklistModel(world)
    try:
        model.start_manual_domain_block(BLOCKABLE_DOMAINS[0])
        model.settle()
        model.start_manual_block("198.51.100.1")
        model.settle()
        model.start_prune(env=0)
        model.settle()
        model.assert_invariants()
        assert {record.host for record in model.judge_ledger.all_records()} == {
            BLOCKABLE_DOMAINS[0],
            "198.51.100.1/32",
        }
        assert model._group()[0] == {BLOCKABLE_DOMAINS[0], "198.51.100.1/32"}
    finally:
        model.teardown()
