// nfw-blocklist's default deployment from TypeScript, with the SDK `pulumi package add` generates from the
// component package's schema (provider/schema.json: every input and output named here is in it).
import * as pulumi from "@pulumi/pulumi";
import * as nfwBlocklist from "@pulumi/nfw-blocklist";

const config = new pulumi.Config();

// An output the component sets only with some inputs (here always: domainCapacity and updateFindings are
// given) is typed `string | undefined`; an input takes a string.
const present = (value: pulumi.Output<string | undefined>, what: string): pulumi.Output<string> =>
    value.apply((v) => {
        if (v === undefined) {
            throw new Error(`${what} is not set`);
        }
        return v;
    });

const blocklist = new nfwBlocklist.BlocklistRuleGroup("blocklist", {
    capacity: 2000,
    domainCapacity: 2002,
    statefulRuleOrder: "STRICT_ORDER", // the order of the policy you attach domainRuleGroupArn to
});
// Exported as the Python and YAML programs export it.
export const domainRuleGroupArn = present(blocklist.domainRuleGroupArn, "domainRuleGroupArn");

const response = new nfwBlocklist.ResponseStateMachine("response", {
    adminEmail: config.require("adminEmail"),
    tableName: blocklist.tableName,
    tableArn: blocklist.tableArn,
    ruleGroupArn: blocklist.ruleGroupArn,
    domainRuleGroupArn: domainRuleGroupArn,
    domainBlocking: "network-firewall",
    ruleGroupPriority: 30000,
    retentionMinutes: config.getNumber("retentionMinutes") ?? 720,
    findingSource: "securityhub",
    updateFindings: true,
    logRetentionDays: 30,
});

const pruning = new nfwBlocklist.PruningSchedule("pruning", {
    pruneFunctionArn: response.pruneFunctionArn,
    topicArn: response.topicArn,
    topicKeyArn: response.topicKeyArn,
    frequencyMinutes: 15,
    logRetentionDays: 30,
});

const monitoring = new nfwBlocklist.Monitoring("monitoring", {
    topicArn: response.topicArn,
    ruleGroupName: blocklist.ruleGroupName,
    responseStateMachineArn: response.stateMachineArn,
    pruningStateMachineArn: pruning.pruningStateMachineArn,
    deadLetterQueueArn: response.deadLetterQueueArn,
    recordFunctionName: response.recordFunctionName,
    blockFunctionName: response.blockFunctionName,
    pruneFunctionName: response.pruneFunctionName,
    steerFunctionName: response.steerFunctionName,
    annotateFunctionName: present(response.annotateFunctionName, "annotateFunctionName"),
    capacityAlarmPercent: 80,
});

export const ruleGroupArn = blocklist.ruleGroupArn;
export const ruleGroupName = blocklist.ruleGroupName;
export const stateMachineArn = response.stateMachineArn;
export const pruningStateMachineArn = pruning.pruningStateMachineArn;
export const tableName = blocklist.tableName;
export const topicArn = response.topicArn;
export const dashboardUrl = monitoring.dashboardUrl;
