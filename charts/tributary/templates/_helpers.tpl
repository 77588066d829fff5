{{/* Name of the operator's objects. */}}
{{- define "tributary.operatorName" -}}
{{- printf "%s-operator" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* ServiceAccount the operator runs as. */}}
{{- define "tributary.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "tributary.operatorName" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Labels on every object of the release. */}}
{{- define "tributary.labels" -}}
app.kubernetes.io/name: tributary-operator
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Labels that select the operator's pods. */}}
{{- define "tributary.selectorLabels" -}}
app.kubernetes.io/name: tributary-operator
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Name of the Connect worker set's objects. */}}
{{- define "tributary.connectName" -}}
{{- printf "%s-connect" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels that select the Connect workers' pods (distinct from the operator's). */}}
{{- define "tributary.connectSelectorLabels" -}}
app.kubernetes.io/name: tributary-connect
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* The operator's --connect-url: connect.url, else the chart's own Connect Service when connect.enabled, else nothing. */}}
{{- define "tributary.connectUrl" -}}
{{- if .Values.connect.url -}}
{{- .Values.connect.url -}}
{{- else if .Values.connect.enabled -}}
{{- printf "http://%s.%s.svc:%d" (include "tributary.connectName" .) .Release.Namespace (int .Values.connect.restPort) -}}
{{- end -}}
{{- end -}}
