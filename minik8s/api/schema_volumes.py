"""Schemas of volumes: what a pod mounts, and the PersistentVolume(Claim) specs.

A Volume names exactly one source. The sources a course uses (emptyDir, hostPath,
configMap, secret, persistentVolumeClaim, projected, downwardAPI, nfs, csi, ephemeral,
image, local) are listed field by field. The in-tree cloud and storage-vendor
drivers (most of them deprecated in Kubernetes) are declared open: we know their
names but do not check what is inside them. (DSL: see schema.py.)
"""
from __future__ import annotations

from .schema import CORE, define

# Sources shared by a pod's Volume and a PersistentVolumeSpec (same field and type name).
COMMON_SOURCES = """
    hostPath              HostPathVolumeSource
        A file or directory of the node.
    nfs                   NFSVolumeSource
        An NFS export.
    awsElasticBlockStore  AWSElasticBlockStoreVolumeSource
        An AWS EBS disk (deprecated driver).
    gcePersistentDisk     GCEPersistentDiskVolumeSource
        A GCE persistent disk (deprecated driver).
    azureDisk             AzureDiskVolumeSource
        An Azure data disk (deprecated driver).
    fc                    FCVolumeSource
        A Fibre Channel disk.
    flocker               FlockerVolumeSource
        A Flocker dataset (deprecated).
    photonPersistentDisk  PhotonPersistentDiskVolumeSource
        A Photon disk (deprecated).
    portworxVolume        PortworxVolumeSource
        A Portworx volume (deprecated driver).
    quobyte               QuobyteVolumeSource
        A Quobyte volume (deprecated).
    vsphereVolume         VsphereVirtualDiskVolumeSource
        A vSphere disk (deprecated driver).
"""

define(CORE + "Volume", "A named volume the pod's containers can mount (one source).", """
    name!                  string
        Volume name, referred to by volumeMounts.
    emptyDir               EmptyDirVolumeSource
        A scratch directory that lives as long as the pod.
    configMap              ConfigMapVolumeSource
        The keys of a ConfigMap, as files.
    secret                 SecretVolumeSource
        The keys of a Secret, as files.
    persistentVolumeClaim  PersistentVolumeClaimVolumeSource
        The volume bound to a claim.
    projected              ProjectedVolumeSource
        Several sources merged into one directory.
    downwardAPI            DownwardAPIVolumeSource
        Pod fields and resources, as files.
    csi                    CSIVolumeSource
        An inline volume from a CSI driver.
    ephemeral              EphemeralVolumeSource
        A PVC created with the pod and deleted with it.
    image                  ImageVolumeSource
        The content of an OCI image, read-only.
    azureFile              AzureFileVolumeSource
        An Azure file share (deprecated driver).
    cephfs                 CephFSVolumeSource
        A CephFS mount.
    cinder                 CinderVolumeSource
        An OpenStack Cinder volume (deprecated driver).
    flexVolume             FlexVolumeSource
        A FlexVolume plugin (deprecated).
    gitRepo                GitRepoVolumeSource
        A git checkout (deprecated).
    glusterfs              GlusterfsVolumeSource
        A GlusterFS mount (removed driver).
    iscsi                  ISCSIVolumeSource
        An iSCSI disk.
    rbd                    RBDVolumeSource
        A Ceph RBD image (deprecated driver).
    scaleIO                ScaleIOVolumeSource
        A ScaleIO volume (deprecated).
    storageos              StorageOSVolumeSource
        A StorageOS volume (deprecated).
""" + COMMON_SOURCES)

define(CORE + "EmptyDirVolumeSource", "An empty directory created for the pod.", """
    medium     string    Empty for the node's disk, Memory for a tmpfs.
    sizeLimit  Quantity  Most the directory may hold.
""")

define(CORE + "HostPathVolumeSource", "A path on the node's filesystem.", """
    path!  string  Path on the node.
    type   string  Check before mounting: DirectoryOrCreate, Directory, File, Socket, ...
""")

define(CORE + "ConfigMapVolumeSource", "Mounts a ConfigMap's keys as files.", """
    name         string       Name of the ConfigMap.
    items        [KeyToPath]  Only these keys, at these paths; all keys by default.
    defaultMode  integer      File mode bits (default 0644).
    optional     boolean      Do not fail when the ConfigMap or a key is missing.
""")

define(CORE + "SecretVolumeSource", "Mounts a Secret's keys as files.", """
    secretName   string       Name of the Secret.
    items        [KeyToPath]  Only these keys, at these paths; all keys by default.
    defaultMode  integer      File mode bits (default 0644).
    optional     boolean      Do not fail when the Secret or a key is missing.
""")

define(CORE + "KeyToPath", "Maps one key to a file path.", """
    key!   string   The key.
    path!  string   Relative file path to write it to.
    mode   integer  File mode bits for this file.
""")

define(CORE + "PersistentVolumeClaimVolumeSource", "Mounts the volume bound to a claim.", """
    claimName!  string   Name of the PersistentVolumeClaim in the pod's namespace.
    readOnly    boolean  Mount read-only.
""")

define(CORE + "ProjectedVolumeSource", "Several sources projected into one directory.", """
    sources      [VolumeProjection]  The sources.
    defaultMode  integer             File mode bits.
""")

define(CORE + "VolumeProjection", "One projected source (one of).", """
    configMap            ConfigMapProjection            Keys of a ConfigMap.
    secret               SecretProjection               Keys of a Secret.
    downwardAPI          DownwardAPIProjection          Pod fields.
    serviceAccountToken  ServiceAccountTokenProjection  A bound service account token.
    clusterTrustBundle   ClusterTrustBundleProjection   Certificates of a ClusterTrustBundle.
""")

define(CORE + "ConfigMapProjection", "A ConfigMap projected into a volume.", """
    name      string       Name of the ConfigMap.
    items     [KeyToPath]  Only these keys, at these paths.
    optional  boolean      Do not fail when it is missing.
""")

define(CORE + "SecretProjection", "A Secret projected into a volume.", """
    name      string       Name of the Secret.
    items     [KeyToPath]  Only these keys, at these paths.
    optional  boolean      Do not fail when it is missing.
""")

define(CORE + "DownwardAPIProjection", "Pod fields projected into a volume.", """
    items  [DownwardAPIVolumeFile]  The files.
""")

define(CORE + "ServiceAccountTokenProjection", "A token for the pod's service account.", """
    path!              string   File path for the token.
    audience           string   Intended audience of the token.
    expirationSeconds  integer  Requested lifetime (default 1 hour).
""")

define(CORE + "DownwardAPIVolumeSource", "Pod fields and resources as files.", """
    items        [DownwardAPIVolumeFile]  The files.
    defaultMode  integer                  File mode bits.
""")

define(CORE + "DownwardAPIVolumeFile", "One file holding a pod field or a resource value.", """
    path!             string                 Relative file path.
    fieldRef          ObjectFieldSelector    A pod field: metadata.labels, metadata.name, ...
    resourceFieldRef  ResourceFieldSelector  A container's request or limit.
    mode              integer                File mode bits.
""")

define(CORE + "NFSVolumeSource", "An NFS export.", """
    server!   string   NFS server host or IP.
    path!     string   Exported path.
    readOnly  boolean  Mount read-only.
""")

define(CORE + "CSIVolumeSource", "An inline volume provided by a CSI driver.", """
    driver!               string                Name of the CSI driver.
    readOnly              boolean               Mount read-only.
    fsType                string                Filesystem type, e.g. ext4.
    volumeAttributes      map[string]           Driver-specific settings.
    nodePublishSecretRef  LocalObjectReference  Secret passed to the driver.
""")

define(CORE + "EphemeralVolumeSource", "A per-pod PVC made from a template.", """
    volumeClaimTemplate  PersistentVolumeClaimTemplate  The claim to create.
""")

define(CORE + "PersistentVolumeClaimTemplate", "The claim an ephemeral volume creates.", """
    metadata  ObjectMeta                 Labels and annotations for the claim.
    spec!     PersistentVolumeClaimSpec  The claim's spec.
""")

define(CORE + "ImageVolumeSource", "An OCI image mounted as a volume.", """
    reference   string  Image reference.
    pullPolicy  string  Always, Never or IfNotPresent.
""")

define(CORE + "PersistentVolumeClaimSpec", "What storage a claim asks for.", """
    accessModes                [string]
        ReadWriteOnce, ReadOnlyMany, ReadWriteMany, ReadWriteOncePod.
    resources                  VolumeResourceRequirements
        Storage size wanted, e.g. requests.storage: 1Gi.
    storageClassName           string
        StorageClass to provision from.
    volumeName                 string
        Bind to this PersistentVolume.
    volumeMode                 string
        Filesystem (default) or Block.
    selector                   LabelSelector
        Only bind volumes with these labels.
    dataSource                 TypedLocalObjectReference
        Populate from a snapshot or another claim.
    dataSourceRef              TypedObjectReference
        Populate from any populator object.
    volumeAttributesClassName  string
        VolumeAttributesClass to use.
""")

define(CORE + "VolumeResourceRequirements", "Storage requests and limits of a claim.", """
    requests  map[Quantity]  Minimum storage, e.g. storage: 1Gi.
    limits    map[Quantity]  Maximum storage.
""")

define(CORE + "TypedLocalObjectReference", "Names an object of any kind, same namespace.", """
    apiGroup  string  API group of the kind; empty for the core group.
    kind!     string  Kind of the object.
    name!     string  Name of the object.
""")

define(CORE + "TypedObjectReference", "Names an object of any kind, any namespace.", """
    apiGroup   string  API group of the kind; empty for the core group.
    kind!      string  Kind of the object.
    name!      string  Name of the object.
    namespace  string  Namespace of the object.
""")

define(CORE + "PersistentVolumeSpec", "A piece of storage: its size, access and source.", """
    capacity                       map[Quantity]
        Size, e.g. storage: 10Gi.
    accessModes                    [string]
        How it can be mounted.
    persistentVolumeReclaimPolicy  string
        Retain, Delete or Recycle when released.
    storageClassName               string
        StorageClass it belongs to.
    volumeMode                     string
        Filesystem (default) or Block.
    mountOptions                   [string]
        Mount options, e.g. hard, nfsvers=4.1.
    claimRef                       ObjectReference
        The claim it is bound to.
    nodeAffinity                   VolumeNodeAffinity
        Nodes that can reach it.
    volumeAttributesClassName      string
        VolumeAttributesClass it belongs to.
    local                          LocalVolumeSource
        A local disk or directory of one node.
    csi                            CSIPersistentVolumeSource
        A volume of a CSI driver.
    azureFile                      AzureFilePersistentVolumeSource
        An Azure file share (deprecated driver).
    cephfs                         CephFSPersistentVolumeSource
        A CephFS mount.
    cinder                         CinderPersistentVolumeSource
        An OpenStack Cinder volume.
    flexVolume                     FlexPersistentVolumeSource
        A FlexVolume plugin (deprecated).
    glusterfs                      GlusterfsPersistentVolumeSource
        A GlusterFS mount (removed driver).
    iscsi                          ISCSIPersistentVolumeSource
        An iSCSI disk.
    rbd                            RBDPersistentVolumeSource
        A Ceph RBD image.
    scaleIO                        ScaleIOPersistentVolumeSource
        A ScaleIO volume (deprecated).
    storageos                      StorageOSPersistentVolumeSource
        A StorageOS volume (deprecated).
""" + COMMON_SOURCES)

define(CORE + "LocalVolumeSource", "A local disk, partition or directory.", """
    path!   string  Path on the node.
    fsType  string  Filesystem type, for block devices.
""")

define(CORE + "VolumeNodeAffinity", "Nodes from which a volume can be used.", """
    required  NodeSelector  Nodes must match.
""")

define(CORE + "CSIPersistentVolumeSource", "A persistent volume of a CSI driver.", """
    driver!                     string           Name of the CSI driver.
    volumeHandle!               string           The driver's id for the volume.
    readOnly                    boolean          Mount read-only.
    fsType                      string           Filesystem type.
    volumeAttributes            map[string]      Driver-specific settings.
    controllerPublishSecretRef  SecretReference  Secret for ControllerPublish.
    controllerExpandSecretRef   SecretReference  Secret for ControllerExpand.
    nodeStageSecretRef          SecretReference  Secret for NodeStage.
    nodePublishSecretRef        SecretReference  Secret for NodePublish.
    nodeExpandSecretRef         SecretReference  Secret for NodeExpand.
""")

define(CORE + "SecretReference", "Names a Secret, maybe in another namespace.", """
    name       string  Name of the Secret.
    namespace  string  Namespace of the Secret.
""")

# Vendor and legacy drivers: declared, not checked inside.
for _name, _text in (
        ("AWSElasticBlockStoreVolumeSource", "An AWS EBS disk; fields not checked by minik8s."),
        ("GCEPersistentDiskVolumeSource", "A GCE persistent disk; fields not checked by minik8s."),
        ("AzureDiskVolumeSource", "An Azure data disk; fields not checked by minik8s."),
        ("AzureFileVolumeSource", "An Azure file share; fields not checked by minik8s."),
        ("AzureFilePersistentVolumeSource", "An Azure file share; fields not checked."),
        ("CephFSVolumeSource", "A CephFS mount; fields not checked by minik8s."),
        ("CephFSPersistentVolumeSource", "A CephFS mount; fields not checked by minik8s."),
        ("CinderVolumeSource", "An OpenStack Cinder volume; fields not checked by minik8s."),
        ("CinderPersistentVolumeSource", "An OpenStack Cinder volume; fields not checked."),
        ("FCVolumeSource", "A Fibre Channel disk; fields not checked by minik8s."),
        ("FlexVolumeSource", "A FlexVolume plugin; fields not checked by minik8s."),
        ("FlexPersistentVolumeSource", "A FlexVolume plugin; fields not checked by minik8s."),
        ("FlockerVolumeSource", "A Flocker dataset; fields not checked by minik8s."),
        ("GitRepoVolumeSource", "A git checkout; fields not checked by minik8s."),
        ("GlusterfsVolumeSource", "A GlusterFS mount; fields not checked by minik8s."),
        ("GlusterfsPersistentVolumeSource", "A GlusterFS mount; fields not checked."),
        ("ISCSIVolumeSource", "An iSCSI disk; fields not checked by minik8s."),
        ("ISCSIPersistentVolumeSource", "An iSCSI disk; fields not checked by minik8s."),
        ("PhotonPersistentDiskVolumeSource", "A Photon disk; fields not checked by minik8s."),
        ("PortworxVolumeSource", "A Portworx volume; fields not checked by minik8s."),
        ("QuobyteVolumeSource", "A Quobyte volume; fields not checked by minik8s."),
        ("RBDVolumeSource", "A Ceph RBD image; fields not checked by minik8s."),
        ("RBDPersistentVolumeSource", "A Ceph RBD image; fields not checked by minik8s."),
        ("ScaleIOVolumeSource", "A ScaleIO volume; fields not checked by minik8s."),
        ("ScaleIOPersistentVolumeSource", "A ScaleIO volume; fields not checked by minik8s."),
        ("StorageOSVolumeSource", "A StorageOS volume; fields not checked by minik8s."),
        ("StorageOSPersistentVolumeSource", "A StorageOS volume; fields not checked."),
        ("VsphereVirtualDiskVolumeSource", "A vSphere disk; fields not checked by minik8s."),
        ("ClusterTrustBundleProjection", "Certificates of a ClusterTrustBundle; fields not "
                                         "checked by minik8s.")):
    define(CORE + _name, _text, open=True)
