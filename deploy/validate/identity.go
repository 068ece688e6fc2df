package main

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"
)

// The identity provider across an overlay's objects: Keycloak's Deployment (the official
// image), the realm it imports, the issuer and JWKS URLs the services are configured with,
// the Ingress that publishes it, and the network fence between it and the services.

const (
	keycloakImage     = "quay.io/keycloak/keycloak"
	realmImportDir    = "/opt/keycloak/data/import"
	issuerSetting     = "GRIDCASE_JWT_ISSUER"
	jwksSetting       = "GRIDCASE_JWKS_URL"
	ingressController = "ingress-nginx" // the namespace the ingress controller runs in
)

var (
	releaseTag  = regexp.MustCompile(`^[^@]+:\d+\.\d+\.\d+$|@sha256:[0-9a-f]{64}$`)
	healthProbe = map[string]string{"startup": "/health/started", "readiness": "/health/ready", "liveness": "/health/live"}
)

// manifest is one rendered object: its kind, kustomize id and YAML.
type manifest struct {
	kind, id string
	document []byte
}

// cluster holds the objects of the kinds the checks read, by name.
type cluster struct {
	namespace   string
	deployments map[string]appsv1.Deployment
	services    map[string]corev1.Service
	configMaps  map[string]corev1.ConfigMap
	policies    []networkingv1.NetworkPolicy
	ingresses   []networkingv1.Ingress
}

func decodeCluster(manifests []manifest) (cluster, error) {
	c := cluster{
		deployments: map[string]appsv1.Deployment{},
		services:    map[string]corev1.Service{},
		configMaps:  map[string]corev1.ConfigMap{},
	}
	for _, m := range manifests {
		var err error
		switch m.kind {
		case "apps/v1/Deployment":
			var d appsv1.Deployment
			err = yaml.Unmarshal(m.document, &d)
			c.deployments[d.Name] = d
			c.namespace = d.Namespace
		case "/v1/Service":
			var s corev1.Service
			err = yaml.Unmarshal(m.document, &s)
			c.services[s.Name] = s
		case "/v1/ConfigMap":
			var cm corev1.ConfigMap
			err = yaml.Unmarshal(m.document, &cm)
			c.configMaps[cm.Name] = cm
		case "networking.k8s.io/v1/NetworkPolicy":
			var p networkingv1.NetworkPolicy
			err = yaml.Unmarshal(m.document, &p)
			c.policies = append(c.policies, p)
		case "networking.k8s.io/v1/Ingress":
			var i networkingv1.Ingress
			err = yaml.Unmarshal(m.document, &i)
			c.ingresses = append(c.ingresses, i)
		}
		if err != nil {
			return c, fmt.Errorf("%s: %w", m.id, err)
		}
	}
	return c, nil
}

// checkIdentityProvider checks that Keycloak serves the issuer the services trust: an
// overlay whose configuration names an issuer must run Keycloak from a pinned official
// image, probed on its management port, with limits, importing a realm of that name at
// the hostname of the issuer, published there by an Ingress, and reachable from every
// service that verifies tokens.
func checkIdentityProvider(manifests []manifest) ([]string, error) {
	c, err := decodeCluster(manifests)
	if err != nil {
		return nil, err
	}
	settings := c.settingsWith(issuerSetting)
	var keycloak []string
	for name, d := range c.deployments {
		if len(d.Spec.Template.Spec.Containers) > 0 && imageRepository(d.Spec.Template.Spec.Containers[0].Image) == keycloakImage {
			keycloak = append(keycloak, name)
		}
	}
	if len(settings) == 0 && len(keycloak) == 0 {
		return nil, nil
	}
	if len(keycloak) != 1 {
		return []string{fmt.Sprintf("identity provider: one Deployment of %s is required, found %d", keycloakImage, len(keycloak))}, nil
	}
	deployment := c.deployments[keycloak[0]]
	at := "identity provider Deployment " + deployment.Name + ": "
	problems := prefixed(at, checkKeycloakPod(deployment))
	container := deployment.Spec.Template.Spec.Containers[0]
	env := literalEnv(container)
	hostname, err := url.Parse(env["KC_HOSTNAME"])
	if err != nil || hostname.Scheme == "" || hostname.Host == "" {
		return append(problems, at+"KC_HOSTNAME must be the full URL browsers use (https://host[/path])"), nil
	}
	if hostname.Scheme == "https" && env["KC_HTTP_ENABLED"] == "true" && env["KC_PROXY_HEADERS"] == "" {
		problems = append(problems, at+"TLS ends at a proxy (https hostname, HTTP enabled): KC_PROXY_HEADERS is required")
	}
	realms := c.importedRealms(deployment)
	if len(realms) == 0 {
		problems = append(problems, at+"no realm file (<realm>-realm.json) is mounted at "+realmImportDir)
	}
	httpPort := containerPort(container, "http")
	issuers := map[string]string{}
	for name, cm := range settings {
		issuers["ConfigMap "+name+" "+issuerSetting] = cm.Data[issuerSetting]
		problems = append(problems, c.checkJWKS(name, cm.Data[jwksSetting], cm.Data[issuerSetting], deployment, httpPort)...)
	}
	for name, cm := range c.configMaps {
		var web struct {
			OIDCIssuer string `json:"oidcIssuer"`
		}
		if document, ok := cm.Data["config.json"]; ok && json.Unmarshal([]byte(document), &web) == nil && web.OIDCIssuer != "" {
			issuers["ConfigMap "+name+" config.json oidcIssuer"] = web.OIDCIssuer
		}
	}
	base := strings.TrimSuffix(hostname.String(), "/")
	for where, issuer := range issuers {
		realm, found := strings.CutPrefix(issuer, base+"/realms/")
		if !found || realm == "" || strings.Contains(realm, "/") {
			problems = append(problems, fmt.Sprintf("%s %q is not a realm of Keycloak's hostname %s", where, issuer, base))
			continue
		}
		if !slices.Contains(realms, realm) {
			problems = append(problems, fmt.Sprintf("%s names realm %q, which Keycloak does not import (%v)", where, realm, realms))
		}
		problems = append(problems, c.checkPublished(hostname, "/realms/"+realm+"/", deployment, httpPort)...)
	}
	problems = append(problems, c.checkFence(deployment, settings, httpPort)...)
	slices.Sort(problems)
	return slices.Compact(problems), nil
}

// checkKeycloakPod checks the container: a pinned image started for production with the
// realm import, health probes on the management port, and resource requests and limits.
func checkKeycloakPod(deployment appsv1.Deployment) []string {
	container := deployment.Spec.Template.Spec.Containers[0]
	var problems []string
	if !releaseTag.MatchString(container.Image) {
		problems = append(problems, fmt.Sprintf("image %q must be pinned to a release (x.y.z) or a digest", container.Image))
	}
	command := append(slices.Clone(container.Command), container.Args...)
	if len(command) == 0 || command[0] != "start" || !slices.Contains(command, "--import-realm") {
		problems = append(problems, fmt.Sprintf("must run `start --import-realm` (production mode), runs %q", command))
	}
	env := literalEnv(container)
	if env["KC_HEALTH_ENABLED"] != "true" {
		problems = append(problems, "KC_HEALTH_ENABLED must be true (the probes ask the health endpoints)")
	}
	management := int32(9000)
	if port, err := strconv.Atoi(env["KC_HTTP_MANAGEMENT_PORT"]); err == nil {
		management = int32(port)
	}
	probes := map[string]*corev1.Probe{"startup": container.StartupProbe, "readiness": container.ReadinessProbe, "liveness": container.LivenessProbe}
	for kind, probe := range probes {
		if probe == nil || probe.HTTPGet == nil || probe.HTTPGet.Path != healthProbe[kind] || resolvePort(container, probe.HTTPGet.Port) != management {
			problems = append(problems, fmt.Sprintf("%s probe must GET %s on the management port %d", kind, healthProbe[kind], management))
		}
	}
	for _, resource := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if _, ok := container.Resources.Requests[resource]; !ok {
			problems = append(problems, "resources.requests."+string(resource)+" is required")
		}
		if _, ok := container.Resources.Limits[resource]; !ok {
			problems = append(problems, "resources.limits."+string(resource)+" is required")
		}
	}
	return problems
}

// checkJWKS checks that a ConfigMap's JWKS URL is the realm's certs endpoint on a Service
// that selects Keycloak's pods and forwards to its HTTP port.
func (c cluster) checkJWKS(configMap, jwks, issuer string, keycloak appsv1.Deployment, httpPort int32) []string {
	at := "ConfigMap " + configMap + " " + jwksSetting + ": "
	parsed, err := url.Parse(jwks)
	if err != nil || parsed.Host == "" {
		return []string{at + "must be an absolute URL"}
	}
	realm := issuer[strings.LastIndex(issuer, "/")+1:]
	var problems []string
	if parsed.Path != "/realms/"+realm+"/protocol/openid-connect/certs" {
		problems = append(problems, fmt.Sprintf("%spath %q is not the certs endpoint of realm %q", at, parsed.Path, realm))
	}
	service, known := c.services[strings.Split(parsed.Hostname(), ".")[0]]
	port := map[string]int32{"http": 80, "https": 443}[parsed.Scheme]
	if parsed.Port() != "" {
		number, _ := strconv.Atoi(parsed.Port())
		port = int32(number)
	}
	if !known || !c.forwards(service, port, keycloak, httpPort) {
		problems = append(problems, fmt.Sprintf("%s%s reaches no Service port that forwards to Keycloak's HTTP port %d", at, parsed.Host, httpPort))
	}
	return problems
}

// checkPublished checks that an Ingress sends the hostname's requests for path to a
// Service that forwards to Keycloak's HTTP port.
func (c cluster) checkPublished(hostname *url.URL, path string, keycloak appsv1.Deployment, httpPort int32) []string {
	wanted := strings.TrimSuffix(hostname.Path, "/") + path
	for _, ingress := range c.ingresses {
		for _, rule := range ingress.Spec.Rules {
			if rule.Host != hostname.Hostname() || rule.HTTP == nil {
				continue
			}
			for _, route := range rule.HTTP.Paths {
				backend := route.Backend.Service
				if backend == nil || !strings.HasPrefix(wanted, strings.TrimSuffix(route.Path, "/")+"/") {
					continue
				}
				service, known := c.services[backend.Name]
				port := backend.Port.Number
				for _, p := range service.Spec.Ports {
					if backend.Port.Name != "" && p.Name == backend.Port.Name {
						port = p.Port
					}
				}
				if known && c.forwards(service, port, keycloak, httpPort) {
					return nil
				}
			}
		}
	}
	return []string{fmt.Sprintf("no Ingress rule of host %s sends %s to Keycloak's HTTP port", hostname.Hostname(), wanted)}
}

// checkFence checks the NetworkPolicies: every Deployment configured with the issuer may
// connect to Keycloak's HTTP port, and so may the ingress controller.
func (c cluster) checkFence(keycloak appsv1.Deployment, settings map[string]corev1.ConfigMap, httpPort int32) []string {
	target := endpoint{c.namespace, keycloak.Spec.Template.Labels, keycloak.Spec.Template.Spec.Containers[0]}
	var problems []string
	for name, d := range c.deployments {
		if !readsAny(d, settings) {
			continue
		}
		source := endpoint{c.namespace, d.Spec.Template.Labels, corev1.Container{}}
		if !c.allows(source, target, httpPort) {
			problems = append(problems, fmt.Sprintf("the NetworkPolicies keep Deployment %s from Keycloak's port %d", name, httpPort))
		}
	}
	controller := endpoint{ingressController, nil, corev1.Container{}}
	if !c.allows(controller, target, httpPort) {
		problems = append(problems, fmt.Sprintf("the NetworkPolicies keep the ingress controller (namespace %s) from Keycloak's port %d", ingressController, httpPort))
	}
	return problems
}

// endpoint is a pod as the network policies see it: its namespace, labels and ports.
type endpoint struct {
	namespace string
	labels    map[string]string
	container corev1.Container
}

// allows tells whether the policies let `from` open a TCP connection to `to` on port:
// `from` must be allowed out (unless no policy isolates its egress) and `to` in.
func (c cluster) allows(from, to endpoint, port int32) bool {
	egress, ingress := from.namespace == c.namespace, true
	isolatedOut, isolatedIn := false, false
	allowedOut, allowedIn := false, false
	for _, policy := range c.policies {
		types := policy.Spec.PolicyTypes
		if len(types) == 0 {
			types = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
			if len(policy.Spec.Egress) > 0 {
				types = append(types, networkingv1.PolicyTypeEgress)
			}
		}
		if egress && slices.Contains(types, networkingv1.PolicyTypeEgress) && selects(&policy.Spec.PodSelector, from.labels) {
			isolatedOut = true
			for _, rule := range policy.Spec.Egress {
				allowedOut = allowedOut || (c.peersMatch(rule.To, to) && portsMatch(rule.Ports, to.container, port))
			}
		}
		if ingress && slices.Contains(types, networkingv1.PolicyTypeIngress) && selects(&policy.Spec.PodSelector, to.labels) {
			isolatedIn = true
			for _, rule := range policy.Spec.Ingress {
				allowedIn = allowedIn || (c.peersMatch(rule.From, from) && portsMatch(rule.Ports, to.container, port))
			}
		}
	}
	return (!isolatedOut || allowedOut) && (!isolatedIn || allowedIn)
}

// peersMatch tells whether a rule's peers include the pod (no peers: every pod).
func (c cluster) peersMatch(peers []networkingv1.NetworkPolicyPeer, pod endpoint) bool {
	if len(peers) == 0 {
		return true
	}
	for _, peer := range peers {
		if peer.IPBlock != nil {
			continue
		}
		inNamespace := pod.namespace == c.namespace
		if peer.NamespaceSelector != nil {
			inNamespace = selects(peer.NamespaceSelector, map[string]string{"kubernetes.io/metadata.name": pod.namespace})
		}
		if inNamespace && (peer.PodSelector == nil || selects(peer.PodSelector, pod.labels)) {
			return true
		}
	}
	return false
}

func portsMatch(ports []networkingv1.NetworkPolicyPort, container corev1.Container, port int32) bool {
	if len(ports) == 0 {
		return true
	}
	for _, p := range ports {
		if p.Protocol != nil && *p.Protocol != corev1.ProtocolTCP {
			continue
		}
		if p.Port == nil {
			return true
		}
		first := resolvePort(container, *p.Port)
		last := first
		if p.EndPort != nil {
			last = *p.EndPort
		}
		if first <= port && port <= last {
			return true
		}
	}
	return false
}

// forwards tells whether the Service selects the Deployment's pods and maps port to the
// container port wanted.
func (c cluster) forwards(service corev1.Service, port int32, d appsv1.Deployment, wanted int32) bool {
	selector := service.Spec.Selector
	if len(selector) == 0 || !labels.SelectorFromSet(selector).Matches(labels.Set(d.Spec.Template.Labels)) {
		return false
	}
	for _, p := range service.Spec.Ports {
		target := p.TargetPort
		if target == (intstr.IntOrString{}) {
			target = intstr.FromInt32(p.Port) // targetPort defaults to port
		}
		if p.Port == port && resolvePort(d.Spec.Template.Spec.Containers[0], target) == wanted {
			return true
		}
	}
	return false
}

// importedRealms are the realms of the files mounted at Keycloak's import directory
// from ConfigMaps of the overlay.
func (c cluster) importedRealms(d appsv1.Deployment) []string {
	volumes := map[string]corev1.Volume{}
	for _, v := range d.Spec.Template.Spec.Volumes {
		volumes[v.Name] = v
	}
	var realms []string
	for _, mount := range d.Spec.Template.Spec.Containers[0].VolumeMounts {
		volume := volumes[mount.Name]
		if strings.TrimSuffix(mount.MountPath, "/") != realmImportDir || volume.ConfigMap == nil {
			continue
		}
		for file, document := range c.configMaps[volume.ConfigMap.Name].Data {
			var realm struct {
				Realm string `json:"realm"`
			}
			if strings.HasSuffix(file, "-realm.json") && json.Unmarshal([]byte(document), &realm) == nil && file == realm.Realm+"-realm.json" {
				realms = append(realms, realm.Realm)
			}
		}
	}
	return realms
}

func (c cluster) settingsWith(key string) map[string]corev1.ConfigMap {
	found := map[string]corev1.ConfigMap{}
	for name, cm := range c.configMaps {
		if _, ok := cm.Data[key]; ok {
			found[name] = cm
		}
	}
	return found
}

func readsAny(d appsv1.Deployment, configMaps map[string]corev1.ConfigMap) bool {
	for _, container := range d.Spec.Template.Spec.Containers {
		for _, source := range container.EnvFrom {
			if source.ConfigMapRef != nil {
				if _, ok := configMaps[source.ConfigMapRef.Name]; ok {
					return true
				}
			}
		}
	}
	return false
}

func selects(selector *metav1.LabelSelector, set map[string]string) bool {
	parsed, err := metav1.LabelSelectorAsSelector(selector)
	return err == nil && parsed.Matches(labels.Set(set))
}

func literalEnv(container corev1.Container) map[string]string {
	env := map[string]string{}
	for _, variable := range container.Env {
		if variable.ValueFrom == nil {
			env[variable.Name] = variable.Value
		}
	}
	return env
}

func containerPort(container corev1.Container, name string) int32 {
	for _, port := range container.Ports {
		if port.Name == name {
			return port.ContainerPort
		}
	}
	return 0
}

// resolvePort is a port's number, looking a named port up among the container's.
func resolvePort(container corev1.Container, port intstr.IntOrString) int32 {
	if port.Type == intstr.String {
		return containerPort(container, port.StrVal)
	}
	return port.IntVal
}

func imageRepository(image string) string {
	repository, _, _ := strings.Cut(image, "@")
	if slash, colon := strings.LastIndex(repository, "/"), strings.LastIndex(repository, ":"); colon > slash {
		repository = repository[:colon]
	}
	return repository
}

func prefixed(prefix string, problems []string) []string {
	for i, problem := range problems {
		problems[i] = prefix + problem
	}
	return problems
}
