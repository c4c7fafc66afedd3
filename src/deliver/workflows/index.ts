export {
  defineWorkflow,
  isWorkflow,
  WORKFLOW_NAME,
  DEFAULT_WORKFLOW_TIMEOUT_MS,
  type Workflow,
  type WorkflowContext,
  type WorkflowDefinition,
} from './define.js';
export { WorkflowRegistry } from './registry.js';
export { loadWorkflows, resolveWorkflowPath, workflowsIn, type LoadWorkflowsOptions } from './load.js';
export { createWorkflowExecutor, classify as classifyWorkflowError, type OrgConnections, type WorkflowExecutorDeps } from './executor.js';
