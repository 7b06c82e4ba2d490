/**
 * The shapes iglu reads from the Docker Engine, converted from the Engine API's
 * (API 1.41, the version Debian 12's docker.io 20.10 speaks). Nothing outside
 * src/docker/ sees dockerode's own types.
 */

/** Labels iglu puts on everything it makes. */
export type Labels = Record<string, string>;

/** `GET /info`, the parts iglu uses. */
export interface EngineInfo {
  /** Engine ID. */
  id: string;
  /** Host name the engine reports (its node's hostname in a swarm). */
  name: string;
  serverVersion: string;
  /** CPUs the engine sees. */
  cpus: number;
  /** Memory of the engine's machine, bytes (MemTotal; 0 when not reported). */
  memoryBytes: number;
  swarm: {
    /** "inactive" | "pending" | "active" | "error" | "locked" */
    state: string;
    nodeId: string;
    nodeAddr: string;
    isManager: boolean;
  };
}

/** A swarm node (`GET /nodes`). */
export interface NodeInfo {
  id: string;
  hostname: string;
  /** Address the node is reached at (Status.Addr). */
  addr: string;
  /** "ready" | "down" | "unknown" | "disconnected" */
  state: string;
  /** "active" | "pause" | "drain" */
  availability: string;
  role: 'manager' | 'worker';
  /** CPUs of the node, from Description.Resources.NanoCPUs. */
  cpus: number;
}

/** A swarm task (`GET /tasks`). */
export interface TaskInfo {
  id: string;
  serviceId: string;
  nodeId: string;
  slot: number | undefined;
  /** Actual state: "new" … "running", "complete", "failed", "rejected", … */
  state: string;
  desiredState: string;
  /** Status.Err when the task failed, else Status.Message. */
  message: string;
  /** Overlay addresses without prefix length, by network name. */
  addresses: Record<string, string[]>;
  createdAt: string;
  /** When the task last changed state (Status.Timestamp, RFC 3339). */
  changedAt?: string;
  /** The container's exit code once it ended (Status.ContainerStatus.ExitCode). */
  exitCode?: number;
}

/** A swarm service (`GET /services/{id}`), with the raw spec kept for updates. */
export interface ServiceInfo {
  id: string;
  name: string;
  version: number;
  labels: Labels;
  replicas: number | undefined;
  global: boolean;
  spec: ServiceSpec;
}

/**
 * The Engine API's ServiceSpec (API 1.41, `POST /services/create`), the parts iglu
 * writes: a service or job running one container spec. Our own shape, not dockerode's,
 * whose TaskTemplate is a union iglu never needs.
 */
export interface ServiceSpec {
  Name: string;
  Labels?: Labels;
  TaskTemplate: TaskTemplate;
  /** Replicated (with a count), Global, or a job that runs to completion once. */
  Mode?: {
    Replicated?: { Replicas: number };
    Global?: Record<string, never>;
    ReplicatedJob?: { MaxConcurrent?: number; TotalCompletions?: number };
    GlobalJob?: Record<string, never>;
  };
  EndpointSpec?: { Mode?: 'vip' | 'dnsrr' };
}

/** A service's task template (Engine API "TaskSpec" with a ContainerSpec). */
export interface TaskTemplate {
  ContainerSpec: ServiceContainerSpec;
  /** CPUs in units of 1e-9 CPUs (NanoCPUs), memory in bytes, Pids a count. */
  Resources?: {
    Limits?: { NanoCPUs?: number; MemoryBytes?: number; Pids?: number };
    Reservations?: { NanoCPUs?: number; MemoryBytes?: number };
  };
  Placement?: { Constraints?: string[]; Preferences?: { Spread: { SpreadDescriptor: string } }[]; MaxReplicas?: number };
  /** Delay in nanoseconds. */
  RestartPolicy?: { Condition: 'none' | 'on-failure' | 'any'; Delay?: number; MaxAttempts?: number };
  Networks?: { Target: string; Aliases?: string[] }[];
  /** The tasks' log driver and its options (Engine API "TaskTemplate.LogDriver", e.g. json-file with max-size and max-file). */
  LogDriver?: { Name: string; Options?: Record<string, string> };
}

/** The container of a service's tasks (Engine API "ContainerSpec", API 1.41). */
export interface ServiceContainerSpec {
  Image: string;
  Command?: string[];
  Env?: string[];
  Hostname?: string;
  User?: string;
  Labels?: Labels;
  Init?: boolean;
  ReadOnly?: boolean;
  /** Nanoseconds. */
  StopGracePeriod?: number;
  Mounts?: { Type: 'volume' | 'bind' | 'tmpfs'; Source: string; Target: string; ReadOnly?: boolean; TmpfsOptions?: { SizeBytes: number; Mode: number } }[];
  /** Capabilities added to or dropped from the default set (API 1.41: `docker service create --cap-add`). */
  CapabilityAdd?: string[];
  CapabilityDrop?: string[];
}

/** A network (`GET /networks/{id}`). */
export interface NetworkInfo {
  id: string;
  name: string;
  driver: string;
  scope: string;
  labels: Labels;
  subnets: string[];
  encrypted: boolean;
  attachable: boolean;
  /** No route outside the network (Engine API `Internal`). */
  internal: boolean;
}

/** An image (`GET /images/{name}/json`). */
export interface ImageInfo {
  /** sha256:… */
  id: string;
  tags: string[];
  labels: Labels;
  size: number;
}

/** A container (`GET /containers/json`). */
export interface ContainerInfo {
  id: string;
  name: string;
  state: string;
  labels: Labels;
}

/** A named volume (`GET /volumes/{name}`). */
export interface VolumeInfo {
  name: string;
  /** Where the volume's data is on the engine's host (local driver). */
  mountpoint: string;
  labels: Labels;
}
