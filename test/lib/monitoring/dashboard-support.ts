import { Template } from 'aws-cdk-lib/assertions';

export interface DashboardWidget {
  type: string;
  x: number;
  y: number;
  width: number;
  height: number;
  properties: {
    title?: string;
    markdown?: string;
    region?: string;
    metrics?: unknown[][];
    alarms?: string[];
    annotations?: { horizontal?: { value: number; label?: string; yAxis?: string }[] };
    [property: string]: unknown;
  };
}

/**
 * The dashboard's widgets. DashboardBody is an `Fn::Join` of literal JSON and tokens (refs to
 * alarms, functions, queues); each token becomes a readable placeholder inside its JSON string
 * (`<Ref:Logical>`, `<GetAtt:Logical.Attr>`) so the body parses as plain JSON.
 */
export function dashboardWidgets(template: Template): DashboardWidget[] {
  const dashboards = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
  if (dashboards.length !== 1) throw new Error(`expected one dashboard, found ${dashboards.length}`);
  const body = dashboards[0].Properties.DashboardBody as string | { 'Fn::Join': [string, unknown[]] };
  const text = typeof body === 'string' ? body : body['Fn::Join'][1].map(placeholder).join(body['Fn::Join'][0]);
  return (JSON.parse(text) as { widgets: DashboardWidget[] }).widgets;
}

function placeholder(part: unknown): string {
  if (typeof part === 'string') return part;
  const token = part as Record<string, unknown>;
  if ('Ref' in token) return `<Ref:${String(token.Ref)}>`;
  if ('Fn::GetAtt' in token) return `<GetAtt:${(token['Fn::GetAtt'] as string[]).join('.')}>`;
  return `<${Object.keys(token)[0]}>`;
}

/** The graph widget titled `title`. */
export function widgetTitled(widgets: DashboardWidget[], title: string): DashboardWidget {
  const found = widgets.filter((widget) => widget.properties.title === title);
  if (found.length !== 1) throw new Error(`expected one widget titled ${title}, found ${found.length}`);
  return found[0];
}
