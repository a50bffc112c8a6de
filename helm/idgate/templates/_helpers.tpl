{{/*
Names, labels and the pieces shared by several templates.
*/}}

{{- define "idgate.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Fully qualified app name, at most 52 characters: StatefulSet pod names add
"-<ordinal>" and the controller-revision-hash label adds 11 more characters.
*/}}
{{- define "idgate.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "idgate.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "idgate.selectorLabels" -}}
app.kubernetes.io/name: {{ include "idgate.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "idgate.labels" -}}
helm.sh/chart: {{ include "idgate.chart" . }}
{{ include "idgate.selectorLabels" . }}
app.kubernetes.io/version: {{ include "idgate.imageTag" . | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: idgate
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Annotations shared by every object (commonAnnotations), as a YAML block. */}}
{{- define "idgate.commonAnnotations" -}}
{{- with .Values.commonAnnotations }}
{{- toYaml . }}
{{- end }}
{{- end }}

{{- define "idgate.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "idgate.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "idgate.headlessServiceName" -}}
{{- printf "%s-headless" (include "idgate.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "idgate.imageTag" -}}
{{- default .Chart.AppVersion .Values.image.tag }}
{{- end }}

{{/* repository:tag, or repository@digest when a digest is given. */}}
{{- define "idgate.image" -}}
{{- $repo := required "image.repository is required" .Values.image.repository }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" $repo .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" $repo (include "idgate.imageTag" .) }}
{{- end }}
{{- end }}

{{/* Name of the Secret with the key files (existing or created by the chart); empty when none. */}}
{{- define "idgate.secretName" -}}
{{- if .Values.secrets.existingSecret }}
{{- .Values.secrets.existingSecret }}
{{- else if .Values.secrets.files }}
{{- printf "%s-keys" (include "idgate.fullname" .) }}
{{- end }}
{{- end }}

{{/* "true" when the gateway serves TLS (config.tls.certFile is set). */}}
{{- define "idgate.tlsEnabled" -}}
{{- $tls := get .Values.config "tls" | default dict }}
{{- if get $tls "certFile" }}true{{ end }}
{{- end }}

{{/* The probe mechanism: grpc or exec ("auto" picks exec when TLS is on). */}}
{{- define "idgate.probeType" -}}
{{- $type := .Values.probes.type }}
{{- if eq $type "auto" }}
{{- $type = ternary "exec" "grpc" (eq (include "idgate.tlsEnabled" .) "true") }}
{{- end }}
{{- if and (eq $type "grpc") (eq (include "idgate.tlsEnabled" .) "true") }}
{{- fail "probes.type=grpc cannot be used with config.tls.certFile set: the kubelet's gRPC probe speaks plaintext only; use probes.type=exec (or auto)" }}
{{- end }}
{{- $type }}
{{- end }}

{{/*
One probe. Call with (dict "root" $ "probe" .Values.probes.readiness).
*/}}
{{- define "idgate.probe" -}}
{{- $root := .root }}
{{- $p := .probe }}
{{- if eq (include "idgate.probeType" $root) "grpc" }}
grpc:
  port: {{ $root.Values.containerPorts.grpc }}
  service: {{ $p.service | quote }}
{{- else }}
exec:
  command:
    {{- range $root.Values.probes.exec.command }}
    - {{ tpl . $root | quote }}
    {{- end }}
    - {{ printf "--service=%s" $p.service | quote }}
{{- end }}
initialDelaySeconds: {{ $p.initialDelaySeconds }}
periodSeconds: {{ $p.periodSeconds }}
timeoutSeconds: {{ $p.timeoutSeconds }}
successThreshold: {{ $p.successThreshold }}
failureThreshold: {{ $p.failureThreshold }}
{{- end }}

{{/*
The gateway configuration (idgate.config.v1.GatewayConfig as proto3 JSON):
.Values.config plus the fields the chart owns. Those must not be set in
.Values.config, so that the pod spec and the config cannot disagree.
*/}}
{{- define "idgate.config" -}}
{{- $cfg := deepCopy .Values.config }}
{{- range $field := list "listenAddress" "metricsListenAddress" "listen_address" "metrics_listen_address" }}
{{- if hasKey $cfg $field }}
{{- fail (printf "config.%s is set by the chart (containerPorts, listenHost); remove it from config" $field) }}
{{- end }}
{{- end }}
{{- $server := get $cfg "server" | default dict }}
{{- range $field := list "drainTimeout" "drain_timeout" }}
{{- if hasKey $server $field }}
{{- fail (printf "config.server.%s is set by the chart from drain.timeoutSeconds (it must stay below the pod's termination grace period); remove it from config" $field) }}
{{- end }}
{{- end }}
{{- $_ := set $server "drainTimeout" (printf "%ds" (int .Values.drain.timeoutSeconds)) }}
{{- if hasKey $cfg "shared_state" }}
{{- fail "config.shared_state: write it as config.sharedState (the chart reads that name)" }}
{{- end }}
{{- if eq (include "idgate.redisEnabled" .) "true" }}
{{- $redis := get (get $cfg "sharedState") "redis" }}
{{- range $field := list "passwordFile" "password_file" }}
{{- if hasKey $redis $field }}
{{- fail (printf "config.sharedState.redis.%s is set by the chart from sharedState.redis.passwordSecret (the password comes from a Secret, mounted read-only); remove it from config" $field) }}
{{- end }}
{{- end }}
{{- range $field := list "expectedReplicas" "expected_replicas" }}
{{- if hasKey $redis $field }}
{{- fail (printf "config.sharedState.redis.%s is set by the chart from the replica count (sharedState.redis.expectedReplicas overrides it); remove it from config" $field) }}
{{- end }}
{{- end }}
{{- $_ := include "idgate.redisPort" . }}
{{- if .Values.sharedState.redis.passwordSecret.name }}
{{- $_ := set $redis "passwordFile" (include "idgate.redisPasswordFile" .) }}
{{- end }}
{{- $_ := set $redis "expectedReplicas" (include "idgate.redisExpectedReplicas" . | int) }}
{{- else if .Values.sharedState.redis.passwordSecret.name }}
{{- fail "sharedState.redis.passwordSecret.name is set but config.sharedState.redis is not: set config.sharedState.redis.address, or empty sharedState.redis.passwordSecret.name" }}
{{- end }}
{{- $_ := set $cfg "server" $server }}
{{- $_ := set $cfg "listenAddress" (printf "%s:%d" .Values.listenHost (int .Values.containerPorts.grpc)) }}
{{- $_ := set $cfg "metricsListenAddress" (printf "%s:%d" .Values.listenHost (int .Values.containerPorts.metrics)) }}
{{- toPrettyJson $cfg }}
{{- end }}

{{/*
TCP ports of the providers reached over the network (config.providers[].address,
"host:port" or a gRPC target such as "dns:///host:port"), for the egress policy.
*/}}
{{- define "idgate.providerPorts" -}}
{{- $ports := list }}
{{- range $i, $p := (get .Values.config "providers" | default list) }}
{{- with (get $p "address") }}
{{- $port := regexFind "[0-9]+$" . }}
{{- if not (regexMatch ":[0-9]+$" .) }}
{{- fail (printf "config.providers[%d].address %q has no port (host:port expected)" $i .) }}
{{- end }}
{{- $ports = append $ports (int $port) }}
{{- end }}
{{- end }}
{{- toJson (uniq $ports) }}
{{- end }}

{{/* Termination grace period: preStop sleep + drain + margin, so the drain always finishes. */}}
{{- define "idgate.terminationGracePeriodSeconds" -}}
{{- add (int .Values.drain.preStopSleepSeconds) (int .Values.drain.timeoutSeconds) (int .Values.drain.extraGracePeriodSeconds) }}
{{- end }}

{{/* "true" when the config names a Redis (config.sharedState.redis). */}}
{{- define "idgate.redisEnabled" -}}
{{- $shared := get .Values.config "sharedState" | default dict }}
{{- if kindIs "map" (get $shared "redis") }}true{{ end }}
{{- end }}

{{/*
TCP port of config.sharedState.redis.address (host:port), for the egress policy;
empty when there is no Redis.
*/}}
{{- define "idgate.redisPort" -}}
{{- if eq (include "idgate.redisEnabled" .) "true" }}
{{- $address := get (get .Values.config.sharedState "redis") "address" }}
{{- if not $address }}
{{- fail "config.sharedState.redis.address is required (host:port of the Redis primary)" }}
{{- end }}
{{- if not (regexMatch "^[^/]+:[0-9]+$" $address) }}
{{- fail (printf "config.sharedState.redis.address %q is not host:port" $address) }}
{{- end }}
{{- regexFind "[0-9]+$" $address }}
{{- end }}
{{- end }}

{{/* Where the Redis password is mounted: config.sharedState.redis.passwordFile. */}}
{{- define "idgate.redisPasswordFile" -}}
{{- printf "%s/password" (.Values.sharedState.redis.mountPath | trimSuffix "/") }}
{{- end }}

{{/*
config.sharedState.redis.expectedReplicas: sharedState.redis.expectedReplicas
when set, else replicaCount, or autoscaling.maxReplicas with the HPA. While
Redis cannot answer, each replica limits a caller to ratePerSecond / this: with
the most replicas the HPA may run, their sum never exceeds the caller's rate.
*/}}
{{- define "idgate.redisExpectedReplicas" -}}
{{- $n := .Values.sharedState.redis.expectedReplicas }}
{{- if not $n }}
{{- if .Values.autoscaling.enabled }}
{{- $n = .Values.autoscaling.maxReplicas }}
{{- else }}
{{- $n = .Values.replicaCount }}
{{- end }}
{{- end }}
{{- max 1 (int $n) }}
{{- end }}
