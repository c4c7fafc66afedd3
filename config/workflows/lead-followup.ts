/**
 * Example workflow: when a Lead is created, give its owner a follow-up Task on it.
 * Load it with `"workflows": ["lead-followup"]` in config/local.json and subscribe with
 * `{"trigger":"record.created","object":"Lead","destination":{"type":"workflow","workflow":"lead-followup"}}`.
 */
import { defineWorkflow } from 'forcehook';

export default defineWorkflow({
  name: 'lead-followup',
  async run(event, { salesforce, logger, attempt }) {
    if (event.type !== 'salesforce.record.created' || event.data.object !== 'Lead') return;
    // Validated as an 18-character id before the run, so it is safe inside SOQL.
    const leadId = event.data.recordId;
    // Runs are at-least-once: a retry after a timeout may follow a create that did succeed.
    // Looking for our own Task first keeps the effect single (Description carries the event id;
    // Salesforce cannot filter on a long text field, so the match is made here).
    const marker = `forcehook event ${event.id}`;
    const existing = await salesforce.query<{ Id: string; Description: string | null }>(`SELECT Id, Description FROM Task WHERE WhoId = '${leadId}'`);
    if (existing.records.some((t) => t.Description === marker)) {
      logger.info({ leadId, attempt }, 'follow-up task already exists');
      return;
    }
    const name = [event.data.record.FirstName, event.data.record.LastName].filter((v) => typeof v === 'string').join(' ');
    const company = typeof event.data.record.Company === 'string' ? ` (${event.data.record.Company})` : '';
    const res = await salesforce.sobject('Task').create({
      WhoId: leadId,
      Subject: `Follow up with ${name || 'new lead'}${company}`,
      Status: 'Not Started',
      Priority: 'Normal',
      ActivityDate: new Date(Date.now() + 2 * 86_400_000).toISOString().slice(0, 10),
      Description: marker,
    });
    logger.info({ leadId, taskId: res.id, attempt }, 'follow-up task created');
  },
});
