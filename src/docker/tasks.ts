import type Docker from 'dockerode';
import type { TaskInfo } from './types.js';

/** Swarm tasks, read on a manager (Engine API `GET /tasks`). */
export class TasksClient {
  constructor(private readonly api: Docker) {}

  /**
   * Tasks of one service.
   * @param service service name or ID
   * @param desiredState keep only tasks with this desired state (e.g. "running")
   */
  async list(service: string, desiredState?: string): Promise<TaskInfo[]> {
    const filters: Record<string, string[]> = { service: [service] };
    if (desiredState) filters['desired-state'] = [desiredState];
    const tasks = await this.api.listTasks({ filters });
    return tasks.map(toTaskInfo);
  }
}

// Engine API 1.41 "Task" fields iglu reads.
interface RawTask {
  ID: string;
  ServiceID?: string;
  NodeID?: string;
  Slot?: number;
  DesiredState?: string;
  CreatedAt?: string;
  Status?: { State?: string; Message?: string; Err?: string; Timestamp?: string; ContainerStatus?: { ExitCode?: number } };
  NetworksAttachments?: { Network?: { Spec?: { Name?: string } }; Addresses?: string[] }[];
}

function toTaskInfo(raw: unknown): TaskInfo {
  const t = raw as RawTask;
  const addresses: Record<string, string[]> = {};
  for (const att of t.NetworksAttachments ?? []) {
    const name = att.Network?.Spec?.Name;
    if (name) addresses[name] = (att.Addresses ?? []).map((a) => a.split('/')[0]!);
  }
  return {
    id: t.ID,
    serviceId: t.ServiceID ?? '',
    nodeId: t.NodeID ?? '',
    slot: t.Slot,
    state: t.Status?.State ?? 'unknown',
    desiredState: t.DesiredState ?? '',
    message: t.Status?.Err || t.Status?.Message || '',
    addresses,
    createdAt: t.CreatedAt ?? '',
    changedAt: t.Status?.Timestamp ?? '',
    ...(typeof t.Status?.ContainerStatus?.ExitCode === 'number' ? { exitCode: t.Status.ContainerStatus.ExitCode } : {}),
  };
}
