{{/* Names and labels. */}}
{{- define "dgs.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "dgs.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "dgs.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "dgs.selectorLabels" -}}
app.kubernetes.io/name: {{ include "dgs.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "dgs.labels" -}}
helm.sh/chart: {{ include "dgs.chart" . }}
{{ include "dgs.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "dgs.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "dgs.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "dgs.secretName" -}}
{{- default (include "dgs.fullname" .) .Values.secret.existingSecret }}
{{- end }}

{{- define "dgs.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{/* Where things live in the pod. */}}
{{- define "dgs.configDir" -}}/etc/domo-group-sync{{- end }}
{{- define "dgs.secretDir" -}}/etc/domo-group-sync/secrets{{- end }}
{{- define "dgs.secretRef" -}}file:{{ include "dgs.secretDir" . }}/{{ .key }}{{- end }}

{{/*
Guards: combinations the service cannot run safely fail the render.
*/}}
{{- define "dgs.validate" -}}
{{- if eq .Values.store.kind "sqlite" }}
{{- if gt (int .Values.replicaCount) 1 }}
{{- fail (printf "store.kind=sqlite allows exactly one replica (replicaCount=%d): SQLite has one writer and lives on one volume. Use store.kind=postgres for several replicas." (int .Values.replicaCount)) }}
{{- end }}
{{- if .Values.autoscaling.enabled }}
{{- fail "autoscaling.enabled needs store.kind=postgres: SQLite allows exactly one replica." }}
{{- end }}
{{- end }}
{{- $cfg := .Values.config | default dict }}
{{- $server := get $cfg "server" | default dict }}
{{- $domo := get $cfg "domo" | default dict }}
{{- $drain := get $server "shutdown_timeout_secs" | default 25 | int }}
{{- $domoTimeout := get $domo "request_timeout_secs" | default 20 | int }}
{{- $needed := add $drain $domoTimeout (int .Values.preStopSleepSeconds) }}
{{- if le (int .Values.terminationGracePeriodSeconds) (int $needed) }}
{{- fail (printf "terminationGracePeriodSeconds (%d) must exceed preStopSleepSeconds + config.server.shutdown_timeout_secs + config.domo.request_timeout_secs (%d)" (int .Values.terminationGracePeriodSeconds) (int $needed)) }}
{{- end }}
{{- range $k := list "listen" }}
{{- if hasKey $server $k }}{{ fail "config.server.listen is set by the chart" }}{{ end }}
{{- end }}
{{- range $k := list "url" }}
{{- if hasKey (get $cfg "store" | default dict) $k }}{{ fail "config.store.url is set by the chart (store.kind, store.postgres.urlKey)" }}{{ end }}
{{- end }}
{{- range $k := list "api_base" "client_id" "client_secret" }}
{{- if hasKey $domo $k }}{{ fail (printf "config.domo.%s is set by the chart (domo.*)" $k) }}{{ end }}
{{- end }}
{{- end }}

{{/*
TOML rendering. Helm reads every YAML number as a float, so whole numbers are printed as
integers (the service's integer keys refuse `1.0`). Strings are JSON-quoted, which is a valid
TOML basic string.
*/}}
{{- define "dgs.toml.value" -}}
{{- $v := . -}}
{{- if kindIs "string" $v -}}
{{ toJson $v }}
{{- else if kindIs "bool" $v -}}
{{ $v }}
{{- else if or (kindIs "float64" $v) (kindIs "int64" $v) (kindIs "int" $v) -}}
{{- if eq (float64 $v) (floor $v) }}{{ int64 $v }}{{ else }}{{ $v }}{{ end -}}
{{- else if kindIs "slice" $v -}}
[{{ range $i, $e := $v }}{{ if $i }}, {{ end }}{{ include "dgs.toml.value" $e }}{{ end }}]
{{- else if kindIs "map" $v -}}
{ {{- range $i, $k := (keys $v | sortAlpha) }}{{ if $i }},{{ end }} {{ $k }} = {{ include "dgs.toml.value" (get $v $k) }}{{ end }} }
{{- else -}}
{{ fail (printf "config: cannot write %v (%s) as TOML" $v (kindOf $v)) }}
{{- end -}}
{{- end }}

{{/* One table: `[name]` and its keys. */}}
{{- define "dgs.toml.table" -}}
{{ "" }}
[{{ .name }}]
{{- range $k := (keys .values | sortAlpha) }}
{{ $k }} = {{ include "dgs.toml.value" (get $.values $k) }}
{{- end }}
{{- end }}
