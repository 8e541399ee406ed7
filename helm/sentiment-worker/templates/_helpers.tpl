{{/* Chart name, truncated to the 63 characters of a DNS label. */}}
{{- define "sentiment-worker.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name of the release's resources. */}}
{{- define "sentiment-worker.fullname" -}}
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

{{- define "sentiment-worker.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "sentiment-worker.selectorLabels" -}}
app.kubernetes.io/name: {{ include "sentiment-worker.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "sentiment-worker.labels" -}}
helm.sh/chart: {{ include "sentiment-worker.chart" . }}
{{ include "sentiment-worker.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: worker
{{- end }}

{{- define "sentiment-worker.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "sentiment-worker.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "sentiment-worker.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{/*
The worker's configuration file: .Values.config plus the fields the chart owns (the model
volume's path, the TLS files' paths, model.offline when the init container fetches). Set with
`set` on a deep copy rather than merged, because sprig's merge skips false and zero values.
*/}}
{{- define "sentiment-worker.config" -}}
{{- $cfg := deepCopy (.Values.config | default dict) }}
{{- range $section := list "kafka" "model" }}
{{- if not (kindIs "map" (get $cfg $section)) }}{{ $_ := set $cfg $section (dict) }}{{ end }}
{{- end }}
{{- if eq .Values.model.source "dir" }}
{{- $_ := set $cfg.model "dir" .Values.model.dir.mountPath }}
{{- else if eq .Values.model.source "cache" }}
{{- $_ := set $cfg.model "cacheDir" .Values.model.cache.mountPath }}
{{- if and .Values.model.cache.fetchOnInit (not (hasKey $cfg.model "offline")) }}
{{- $_ := set $cfg.model "offline" true }}
{{- end }}
{{- else }}
{{- fail (printf "model.source must be cache or dir, not %q" .Values.model.source) }}
{{- end }}
{{- with .Values.secrets.kafkaTls }}
{{- if .name }}
{{- $ssl := get $cfg.kafka "ssl" | default (dict) }}
{{- $_ := set $ssl "enabled" true }}
{{- if .caKey }}{{ $_ := set $ssl "caFile" (printf "%s/%s" .mountPath .caKey) }}{{ end }}
{{- if .certKey }}{{ $_ := set $ssl "certFile" (printf "%s/%s" .mountPath .certKey) }}{{ end }}
{{- if .keyKey }}{{ $_ := set $ssl "keyFile" (printf "%s/%s" .mountPath .keyKey) }}{{ end }}
{{- $_ := set $cfg.kafka "ssl" $ssl }}
{{- end }}
{{- end }}
{{- toYaml $cfg }}
{{- end }}

{{/* The HTTP port of /healthz, /readyz and /metrics (telemetry.httpPort, 9464 by default). */}}
{{- define "sentiment-worker.httpPort" -}}
{{- $telemetry := (.Values.config | default dict).telemetry | default dict }}
{{- $port := $telemetry.httpPort | default 9464 | int }}
{{- if eq $port 0 }}{{ fail "config.telemetry.httpPort 0 turns off the probes' and metrics' server; the chart needs it" }}{{ end }}
{{- $port }}
{{- end }}

{{/*
Environment of the worker and of the init container (both load the same configuration, and
`model fetch` validates all of it). Not HF_TOKEN: see sentiment-worker.hfToken. The image sets SW_INPUT_SOURCE, SW_MODEL_CACHE_DIR and, in its
GPU variant, SW_RUNTIME_EXECUTION_PROVIDERS; the environment wins over the file, so where the file
has these fields they are repeated here and the file stays the truth.
*/}}
{{- define "sentiment-worker.env" -}}
{{- $cfg := include "sentiment-worker.config" . | fromYaml -}}
- name: SW_CONFIG
  value: /etc/sentiment-worker/config.yaml
{{- with (get ($cfg.input | default dict) "source") }}
- name: SW_INPUT_SOURCE
  value: {{ . | quote }}
{{- end }}
{{- with (get $cfg.model "cacheDir") }}
- name: SW_MODEL_CACHE_DIR
  value: {{ . | quote }}
{{- end }}
{{- with (get ($cfg.runtime | default dict) "executionProviders") }}
- name: SW_RUNTIME_EXECUTION_PROVIDERS
  value: {{ join "," . | quote }}
{{- end }}
{{- with .Values.secrets.kafkaSasl }}
{{- if .name }}
{{- if .usernameKey }}
- name: SW_KAFKA_SASL_USERNAME
  valueFrom:
    secretKeyRef:
      name: {{ .name }}
      key: {{ .usernameKey }}
{{- end }}
- name: SW_KAFKA_SASL_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .name }}
      key: {{ .passwordKey }}
{{- end }}
{{- end }}
{{- with .Values.secrets.redis }}
{{- if .name }}
- name: SW_DEDUP_REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ .name }}
      key: {{ .urlKey }}
{{- end }}
{{- end }}
{{- with .Values.secrets.schemaRegistry }}
{{- if .name }}
{{- if .tokenKey }}
- name: SW_INPUT_SCHEMA_REGISTRY_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ .name }}
      key: {{ .tokenKey }}
{{- else }}
- name: SW_INPUT_SCHEMA_REGISTRY_USERNAME
  valueFrom:
    secretKeyRef:
      name: {{ .name }}
      key: {{ .usernameKey }}
- name: SW_INPUT_SCHEMA_REGISTRY_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .name }}
      key: {{ .passwordKey }}
{{- end }}
{{- end }}
{{- end }}
{{- with .Values.secrets.adminToken }}
{{- if .name }}
- name: SW_ROLLOUT_ADMIN_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ .name }}
      key: {{ .tokenKey }}
{{- end }}
{{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Volume mounts shared by the worker and the init container. */}}
{{- define "sentiment-worker.volumeMounts" -}}
- name: config
  mountPath: /etc/sentiment-worker/config.yaml
  subPath: config.yaml
  readOnly: true
- name: tmp
  mountPath: /tmp
{{- if eq .Values.model.source "dir" }}
- name: model
  mountPath: {{ .Values.model.dir.mountPath }}
  {{- with .Values.model.dir.subPath }}
  subPath: {{ . }}
  {{- end }}
  readOnly: true
{{- else }}
- name: model
  mountPath: {{ .Values.model.cache.mountPath }}
{{- end }}
{{- with .Values.secrets.kafkaTls }}
{{- if .name }}
- name: kafka-tls
  mountPath: {{ .mountPath }}
  readOnly: true
{{- end }}
{{- end }}
{{- end }}

{{/*
HF_TOKEN, for the container that fetches the model only: the init container when it runs, the
worker only when the worker itself may contact the hub (model.offline not true: no init
container, or an explicit config.model.offline false). A worker that starts offline never
holds the token, so whoever reads the worker's environment (a debug shell, a crash dump, a
compromised dependency) does not get it.
*/}}
{{- define "sentiment-worker.hfToken" -}}
{{- with .Values.secrets.huggingFace }}
{{- if .name }}
- name: HF_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ .name }}
      key: {{ .tokenKey }}
{{- end }}
{{- end }}
{{- end }}

{{/* "true" when the worker container may fetch from the hub itself (its model.offline is not true). */}}
{{- define "sentiment-worker.workerFetches" -}}
{{- $cfg := include "sentiment-worker.config" . | fromYaml -}}
{{- if not (get $cfg.model "offline") }}true{{ end -}}
{{- end }}

{{/* "true" when the admin endpoints listen beyond loopback (reachable on the pod's address). */}}
{{- define "sentiment-worker.adminExposed" -}}
{{- $rollout := (.Values.config | default dict).rollout | default dict }}
{{- $host := $rollout.adminHost | default "127.0.0.1" | toString | lower | trimPrefix "[" | trimSuffix "]" }}
{{- if and $rollout.adminPort (not (or (hasPrefix "127." $host) (eq $host "localhost") (eq $host "::1"))) }}true{{ end -}}
{{- end }}

{{/* The init container that fetches the model (empty when it is not fetched on init); the worker's and the replay Job's. */}}
{{- define "sentiment-worker.modelFetchContainer" -}}
{{- if and (eq .Values.model.source "cache") .Values.model.cache.fetchOnInit -}}
# Downloads model.id@model.revision into the cache volume (once; a warm cache returns at
# once), so the worker starts offline and a hub outage shows here, not as a crash loop.
- name: model-fetch
  image: {{ include "sentiment-worker.image" . }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  args: ["model", "fetch"]
  env:
    {{- include "sentiment-worker.env" . | nindent 4 }}
    {{- include "sentiment-worker.hfToken" . | nindent 4 }}
  volumeMounts:
    {{- include "sentiment-worker.volumeMounts" . | nindent 4 }}
  securityContext:
    {{- toYaml .Values.securityContext | nindent 4 }}
  resources:
    {{- toYaml .Values.initContainerResources | nindent 4 }}
{{- end }}
{{- end }}

{{/* The pod's volumes (configuration, /tmp, the model, the Kafka TLS files); the worker's and the replay Job's. */}}
{{- define "sentiment-worker.volumes" -}}
- name: config
  configMap:
    name: {{ include "sentiment-worker.fullname" . }}
- name: tmp
  emptyDir:
    sizeLimit: {{ .Values.tmpSizeLimit }}
{{- if eq .Values.model.source "dir" }}
{{- if not .Values.model.dir.existingClaim }}
{{- fail "model.source dir needs model.dir.existingClaim (a PVC holding the exported model)" }}
{{- end }}
- name: model
  persistentVolumeClaim:
    claimName: {{ .Values.model.dir.existingClaim }}
    readOnly: true
{{- else if .Values.model.cache.existingClaim }}
- name: model
  persistentVolumeClaim:
    claimName: {{ .Values.model.cache.existingClaim }}
{{- else }}
- name: model
  emptyDir:
    sizeLimit: {{ .Values.model.cache.sizeLimit }}
{{- end }}
{{- with .Values.secrets.kafkaTls }}
{{- if .name }}
- name: kafka-tls
  secret:
    secretName: {{ .name }}
    defaultMode: 0440
{{- end }}
{{- end }}
{{- end }}
