"""Schemas of the workload kinds: apps/v1 and batch/v1.

Importing this module loads every schema: it imports the core kinds (schema_core.py)
and the rest (schema_other.py: autoscaling, coordination, networking, rbac). Field
names and types are k8s.io/api at v1.32. (DSL: see schema.py.)
"""
from __future__ import annotations

from . import schema_core, schema_other  # noqa: F401  (every other kind)
from .schema import define, kind, package

APPS = package("apps", "v1")
BATCH = package("batch", "v1")

# --- apps/v1 ---------------------------------------------------------------------------

kind("apps", "v1", "Deployment", "Declarative rollouts of a pod template through ReplicaSets.", """
    spec    DeploymentSpec    Desired pods and how to roll out changes.
    status  DeploymentStatus  Rollout progress, written by the deployment controller.
""")

define(APPS + "DeploymentSpec", "The desired state of a deployment.", """
    replicas                 integer
        Number of pods wanted (default 1).
    selector!                LabelSelector
        Pods it manages; must match the template's labels.
    template!                PodTemplateSpec
        The pods to create.
    strategy                 DeploymentStrategy
        How old pods are replaced by new ones.
    minReadySeconds          integer
        Seconds a new pod must be ready to count as available.
    revisionHistoryLimit     integer
        Old ReplicaSets kept for rollback (default 10).
    paused                   boolean
        Stop rolling out template changes.
    progressDeadlineSeconds  integer
        Seconds without progress before it is reported failed (600).
""")

define(APPS + "DeploymentStrategy", "How a deployment replaces old pods with new ones.", """
    type           string                   Recreate or RollingUpdate (the default).
    rollingUpdate  RollingUpdateDeployment  Limits of a rolling update (type RollingUpdate).
""")

define(APPS + "RollingUpdateDeployment", "Pace of a rolling update.", """
    maxUnavailable  IntOrString  Pods that may be unavailable meanwhile: a number or a percent.
    maxSurge        IntOrString  Pods that may exist above replicas: a number or a percent (25%).
""")

define(APPS + "DeploymentStatus", "The observed state of a deployment.", """
    observedGeneration   integer                The generation the controller last acted on.
    replicas             integer                Pods of all its ReplicaSets.
    updatedReplicas      integer                Pods from the current template.
    readyReplicas        integer                Pods that are ready.
    availableReplicas    integer                Pods ready for at least minReadySeconds.
    unavailableReplicas  integer                Pods still needed to reach replicas available.
    conditions           [DeploymentCondition]  Available, Progressing, ReplicaFailure.
    collisionCount       integer                Bumped when a template hash collides.
""")

define(APPS + "DeploymentCondition", "One condition of a deployment.", """
    type!               string  Available, Progressing or ReplicaFailure.
    status!             string  True, False or Unknown.
    reason              string  One-word reason, e.g. NewReplicaSetAvailable.
    message             string  Details.
    lastUpdateTime      Time    When it was last updated.
    lastTransitionTime  Time    When status last changed.
""")

kind("apps", "v1", "ReplicaSet", "Keeps a number of identical pods running.", """
    spec    ReplicaSetSpec    How many pods, which ones, from what template.
    status  ReplicaSetStatus  Pods counted by the ReplicaSet controller.
""")

define(APPS + "ReplicaSetSpec", "The desired state of a ReplicaSet.", """
    replicas         integer          Number of pods wanted (default 1).
    selector!        LabelSelector    Pods it owns; must match the template's labels.
    template         PodTemplateSpec  The pods to create.
    minReadySeconds  integer          Seconds a new pod must be ready to count as available.
""")

define(APPS + "ReplicaSetStatus", "The observed state of a ReplicaSet.", """
    replicas!             integer                Pods it owns.
    fullyLabeledReplicas  integer                Pods whose labels match the template's.
    readyReplicas         integer                Pods that are ready.
    availableReplicas     integer                Pods ready for at least minReadySeconds.
    observedGeneration    integer                The generation the controller last acted on.
    conditions            [ReplicaSetCondition]  Problems, e.g. ReplicaFailure.
""")

define(APPS + "ReplicaSetCondition", "One condition of a ReplicaSet.", """
    type!               string  Condition type, e.g. ReplicaFailure.
    status!             string  True, False or Unknown.
    reason              string  One-word reason.
    message             string  Details.
    lastTransitionTime  Time    When status last changed.
""")

kind("apps", "v1", "StatefulSet", "Pods with stable names and storage, started in order.", """
    spec    StatefulSetSpec    Pods, their claims and the update strategy.
    status  StatefulSetStatus  Pods counted by the StatefulSet controller.
""")

define(APPS + "StatefulSetSpec", "The desired state of a StatefulSet.", """
    replicas                              integer
        Number of pods wanted (default 1).
    selector!                             LabelSelector
        Pods it owns; must match the template's labels.
    template!                             PodTemplateSpec
        The pods to create, named <set>-<ordinal>.
    serviceName                           string
        Headless service giving the pods DNS names.
    volumeClaimTemplates                  [PersistentVolumeClaim]
        One claim per pod from each template.
    podManagementPolicy                   string
        OrderedReady (default) or Parallel.
    updateStrategy                        StatefulSetUpdateStrategy
        How template changes reach the pods.
    revisionHistoryLimit                  integer
        ControllerRevisions kept (default 10).
    minReadySeconds                       integer
        Seconds a new pod must be ready to count as available.
    persistentVolumeClaimRetentionPolicy  StatefulSetPersistentVolumeClaimRetentionPolicy
        Whether claims are deleted with the pods (on scale-down, on deletion).
    ordinals                              StatefulSetOrdinals
        Where pod numbering starts.
""")

define(APPS + "StatefulSetUpdateStrategy", "How a StatefulSet updates its pods.", """
    type           string                            RollingUpdate (default) or OnDelete.
    rollingUpdate  RollingUpdateStatefulSetStrategy  Limits of a rolling update.
""")

define(APPS + "RollingUpdateStatefulSetStrategy", "Limits of a StatefulSet rolling update.", """
    partition       integer      Only pods with an ordinal at least this are updated.
    maxUnavailable  IntOrString  Pods that may be unavailable during the update (beta).
""")

define(APPS + "StatefulSetPersistentVolumeClaimRetentionPolicy",
       "What happens to claims when pods go away.", """
    whenDeleted  string  Retain (default) or Delete when the StatefulSet is deleted.
    whenScaled   string  Retain (default) or Delete when scaled down.
""")

define(APPS + "StatefulSetOrdinals", "Numbering of StatefulSet pods.", """
    start  integer  First ordinal (default 0).
""")

define(APPS + "StatefulSetStatus", "The observed state of a StatefulSet.", """
    observedGeneration  integer                 The generation the controller last acted on.
    replicas!           integer                 Pods it owns.
    readyReplicas       integer                 Pods that are ready.
    currentReplicas     integer                 Pods at currentRevision.
    updatedReplicas     integer                 Pods at updateRevision.
    availableReplicas   integer                 Pods ready for at least minReadySeconds.
    currentRevision     string                  Revision of the pods before the update.
    updateRevision      string                  Revision the pods are updated to.
    collisionCount      integer                 Bumped when a revision hash collides.
    conditions          [StatefulSetCondition]  Current conditions.
""")

define(APPS + "StatefulSetCondition", "One condition of a StatefulSet.", """
    type!               string  Condition type.
    status!             string  True, False or Unknown.
    reason              string  One-word reason.
    message             string  Details.
    lastTransitionTime  Time    When status last changed.
""")

kind("apps", "v1", "DaemonSet", "One pod on every (selected) node.", """
    spec    DaemonSetSpec    The pods and how to update them.
    status  DaemonSetStatus  Pods counted by the DaemonSet controller.
""")

define(APPS + "DaemonSetSpec", "The desired state of a DaemonSet.", """
    selector!             LabelSelector
        Pods it owns; must match the template's labels.
    template!             PodTemplateSpec
        The pod to run on each node.
    updateStrategy        DaemonSetUpdateStrategy
        How template changes reach the pods.
    minReadySeconds       integer
        Seconds a new pod must be ready to count as available.
    revisionHistoryLimit  integer
        ControllerRevisions kept (default 10).
""")

define(APPS + "DaemonSetUpdateStrategy", "How a DaemonSet updates its pods.", """
    type           string                  RollingUpdate (default) or OnDelete.
    rollingUpdate  RollingUpdateDaemonSet  Limits of a rolling update.
""")

define(APPS + "RollingUpdateDaemonSet", "Limits of a DaemonSet rolling update.", """
    maxUnavailable  IntOrString  Nodes whose pod may be unavailable (default 1).
    maxSurge        IntOrString  Nodes that may run an old and a new pod at once (default 0).
""")

define(APPS + "DaemonSetStatus", "The observed state of a DaemonSet.", """
    currentNumberScheduled!  integer               Nodes running a pod that should.
    numberMisscheduled!      integer               Nodes running a pod that should not.
    desiredNumberScheduled!  integer               Nodes that should run a pod.
    numberReady!             integer               Nodes whose pod is ready.
    observedGeneration       integer               The generation the controller last acted on.
    updatedNumberScheduled   integer               Nodes running the current template.
    numberAvailable          integer               Nodes whose pod is available.
    numberUnavailable        integer               Nodes whose pod is not available.
    collisionCount           integer               Bumped when a revision hash collides.
    conditions               [DaemonSetCondition]  Current conditions.
""")

define(APPS + "DaemonSetCondition", "One condition of a DaemonSet.", """
    type!               string  Condition type.
    status!             string  True, False or Unknown.
    reason              string  One-word reason.
    message             string  Details.
    lastTransitionTime  Time    When status last changed.
""")

kind("apps", "v1", "ControllerRevision", "An immutable snapshot of a controller's template.", """
    data       object   The snapshot (any object).
    revision!  integer  Revision number.
""")

# --- batch/v1 --------------------------------------------------------------------------

kind("batch", "v1", "Job", "Pods run to completion.", """
    spec    JobSpec    The pods, how many must succeed, retry limits.
    status  JobStatus  Pods counted by the Job controller.
""")

define(BATCH + "JobSpec", "The desired state of a job.", """
    template!                PodTemplateSpec   The pods to run (restartPolicy Never or OnFailure).
    completions              integer           Successful pods needed (default 1).
    parallelism              integer           Pods running at once (default 1).
    backoffLimit             integer           Retries before the job fails (default 6).
    activeDeadlineSeconds    integer           Seconds the job may run in total.
    ttlSecondsAfterFinished  integer           Delete the job this long after it finishes.
    completionMode           string            NonIndexed (default) or Indexed.
    suspend                  boolean           True deletes running pods and creates no new ones.
    selector                 LabelSelector     Pods it owns; generated unless manualSelector.
    manualSelector           boolean           Use the given selector instead of a generated one.
    podFailurePolicy         PodFailurePolicy  How pod failures count towards backoffLimit.
    podReplacementPolicy     string            TerminatingOrFailed or Failed.
    backoffLimitPerIndex     integer           Retries per index, for Indexed jobs.
    maxFailedIndexes         integer           Failed indexes before the job fails.
    successPolicy            SuccessPolicy     When an Indexed job counts as succeeded early.
    managedBy                string            Controller responsible for the job.
""")

define(BATCH + "PodFailurePolicy", "Rules for pod failures, checked in order.", """
    rules!  [PodFailurePolicyRule]  The rules.
""")

define(BATCH + "PodFailurePolicyRule", "What to do when a failed pod matches.", """
    action!          string                                    FailJob, FailIndex, Ignore or Count.
    onExitCodes      PodFailurePolicyOnExitCodesRequirement    Match by container exit codes.
    onPodConditions  [PodFailurePolicyOnPodConditionsPattern]  Match by pod conditions.
""")

define(BATCH + "PodFailurePolicyOnExitCodesRequirement", "Matches container exit codes.", """
    containerName  string     Only this container.
    operator!      string     In or NotIn.
    values!        [integer]  Exit codes.
""")

define(BATCH + "PodFailurePolicyOnPodConditionsPattern", "Matches a pod condition.", """
    type!   string  Condition type, e.g. DisruptionTarget.
    status  string  Condition status (default True).
""")

define(BATCH + "SuccessPolicy", "When an Indexed job succeeds early.", """
    rules!  [SuccessPolicyRule]  The rules (ORed).
""")

define(BATCH + "SuccessPolicyRule", "One early-success rule.", """
    succeededIndexes  string   Indexes that must succeed, e.g. 0-2,5.
    succeededCount    integer  How many of them must succeed.
""")

define(BATCH + "JobStatus", "The observed state of a job.", """
    conditions               [JobCondition]           Complete, Failed, Suspended, ...
    startTime                Time                     When the controller started the job.
    completionTime           Time                     When the job completed.
    active                   integer                  Pods running or pending.
    succeeded                integer                  Pods that succeeded.
    failed                   integer                  Pods that failed.
    terminating              integer                  Pods being terminated.
    ready                    integer                  Active pods that are ready.
    completedIndexes         string                   Completed indexes, e.g. 1,3-5.
    failedIndexes            string                   Failed indexes.
    uncountedTerminatedPods  UncountedTerminatedPods  Finished pods not counted yet.
""")

define(BATCH + "JobCondition", "One condition of a job.", """
    type!               string  Complete, Failed, Suspended, FailureTarget, SuccessCriteriaMet.
    status!             string  True, False or Unknown.
    reason              string  One-word reason, e.g. BackoffLimitExceeded.
    message             string  Details.
    lastProbeTime       Time    When it was last checked.
    lastTransitionTime  Time    When status last changed.
""")

define(BATCH + "UncountedTerminatedPods", "UIDs of finished pods not yet counted.", """
    succeeded  [string]  UIDs of pods that succeeded.
    failed     [string]  UIDs of pods that failed.
""")

kind("batch", "v1", "CronJob", "A job created on a schedule.", """
    spec    CronJobSpec    The schedule and the job template.
    status  CronJobStatus  Active jobs and the last run.
""")

define(BATCH + "CronJobSpec", "The desired state of a CronJob.", """
    schedule!                   string           Cron expression, e.g. */5 * * * *.
    jobTemplate!                JobTemplateSpec  The job to create.
    timeZone                    string           Time zone of the schedule, e.g. Etc/UTC.
    concurrencyPolicy           string           Allow (default), Forbid or Replace.
    suspend                     boolean          True stops new runs.
    startingDeadlineSeconds     integer          How late a missed run may still start.
    successfulJobsHistoryLimit  integer          Finished jobs kept (default 3).
    failedJobsHistoryLimit      integer          Failed jobs kept (default 1).
""")

define(BATCH + "JobTemplateSpec", "The job a CronJob creates.", """
    metadata  ObjectMeta  Labels and annotations of the job.
    spec      JobSpec     The job's spec.
""")

define(BATCH + "CronJobStatus", "The observed state of a CronJob.", """
    active              [ObjectReference]  Jobs running now.
    lastScheduleTime    Time               When a job was last scheduled.
    lastSuccessfulTime  Time               When a job last succeeded.
""")
