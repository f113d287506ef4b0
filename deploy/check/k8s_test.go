package check

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// TestKustomizeOverlaysBuild: every overlay builds and every object decodes
// strictly into the k8s.io/api types (build fails the test otherwise).
func TestKustomizeOverlaysBuild(t *testing.T) {
	eachOverlay(t, func(t *testing.T, b *bundle, o overlay) {
		if len(b.all) == 0 {
			t.Fatal("overlay builds to nothing")
		}
		// One namespace for everything, made by the overlay.
		var ns string
		for _, obj := range b.all {
			m, ok := obj.(interface{ GetNamespace() string })
			if !ok {
				continue
			}
			if _, isNS := obj.(*corev1.Namespace); isNS {
				continue
			}
			if ns == "" {
				ns = m.GetNamespace()
			}
			if m.GetNamespace() != ns || ns == "" {
				t.Errorf("objects in namespaces %q and %q: want one, set by the overlay", ns, m.GetNamespace())
			}
		}
		if !slices.ContainsFunc(b.namespaces, func(n *corev1.Namespace) bool { return n.Name == ns }) {
			t.Errorf("overlay does not make its namespace %q", ns)
		}
	})
}

func TestKubernetesImage(t *testing.T) {
	eachOverlay(t, func(t *testing.T, b *bundle, o overlay) {
		_, c := b.app(t)
		repo, tag := SplitImage(c.Image)
		if repo != imageRepo {
			t.Errorf("image %q, want %s", c.Image, imageRepo)
		}
		if tag == "" || tag == "latest" {
			t.Errorf("image %q: pin a tag in the overlay (kustomize images: newTag)", c.Image)
		}
		// The same name as the one docker compose builds.
		if app := service(t, mustLoadCompose(t), "app"); !strings.HasPrefix(app.Image, repo+":") {
			t.Errorf("compose builds %q, Kubernetes runs %q: want one image name", app.Image, c.Image)
		}
	})
}

func TestKubernetesProbesAndPorts(t *testing.T) {
	eachOverlay(t, func(t *testing.T, b *bundle, o overlay) {
		d, c := b.app(t)
		pod := d.Spec.Template.Spec
		if len(c.Ports) == 0 || c.Ports[0].ContainerPort != appPort {
			t.Errorf("container ports %+v, want %d first", c.Ports, appPort)
		}
		if addr, ok := b.configData(t, c)["ADDR"]; ok {
			checkAddrPort(t, "ConfigMap ADDR", addr)
		}
		for _, p := range []struct {
			name  string
			probe *corev1.Probe
			path  string
		}{
			{"startupProbe", c.StartupProbe, healthz},
			{"readinessProbe", c.ReadinessProbe, readyz},
			{"livenessProbe", c.LivenessProbe, healthz},
		} {
			if p.probe == nil || p.probe.HTTPGet == nil {
				t.Errorf("%s is not an HTTP GET probe", p.name)
				continue
			}
			checkRoute(t, p.name, p.probe.HTTPGet.Path, p.path)
			if port, err := containerPort(pod, p.probe.HTTPGet.Port); err != nil || port != appPort {
				t.Errorf("%s port %s = %d (%v), want %d", p.name, p.probe.HTTPGet.Port.String(), port, err, appPort)
			}
		}
	})
}

func TestKubernetesSecurity(t *testing.T) {
	eachOverlay(t, func(t *testing.T, b *bundle, o overlay) {
		for _, p := range b.pods() {
			spec := p.spec.Spec
			psc := spec.SecurityContext
			if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot {
				t.Errorf("%s: pod securityContext.runAsNonRoot is not true", p.owner)
			}
			if psc == nil || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
				t.Errorf("%s: pod seccompProfile is not RuntimeDefault", p.owner)
			}
			for _, c := range spec.Containers {
				sc := c.SecurityContext
				switch {
				case sc == nil:
					t.Errorf("%s/%s: no securityContext", p.owner, c.Name)
				case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
					t.Errorf("%s/%s: readOnlyRootFilesystem is not true", p.owner, c.Name)
				case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
					t.Errorf("%s/%s: allowPrivilegeEscalation is not false", p.owner, c.Name)
				case sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") || len(sc.Capabilities.Add) > 0:
					t.Errorf("%s/%s: capabilities %+v, want drop ALL and add none", p.owner, c.Name, sc.Capabilities)
				}
				if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
					t.Errorf("%s/%s: resources %+v, want cpu and memory requests and a memory limit", p.owner, c.Name, c.Resources)
				}
			}
		}
	})
}

// TestKubernetesDrain: a rolling update or scale-down loses no request.
func TestKubernetesDrain(t *testing.T) {
	eachOverlay(t, func(t *testing.T, b *bundle, o overlay) {
		d, c := b.app(t)
		ru := d.Spec.Strategy.RollingUpdate
		if d.Spec.Strategy.Type != "RollingUpdate" || ru == nil || ru.MaxUnavailable == nil || ru.MaxUnavailable.IntValue() != 0 || ru.MaxUnavailable.String() != "0" {
			t.Errorf("strategy %+v, want RollingUpdate with maxUnavailable 0", d.Spec.Strategy)
		}
		if d.Spec.Replicas != nil {
			t.Errorf("Deployment sets replicas %d: the HPA owns the count, an apply would reset it", *d.Spec.Replicas)
		}
		var preStop time.Duration
		if ls := c.Lifecycle; ls == nil || ls.PreStop == nil || ls.PreStop.Sleep == nil || ls.PreStop.Sleep.Seconds <= 0 {
			t.Error("no preStop sleep: the pod would stop taking requests before endpoints drop it")
		} else {
			preStop = time.Duration(ls.PreStop.Sleep.Seconds) * time.Second
		}
		env := b.configData(t, c)
		delay, timeout := mustDuration(t, env, "SHUTDOWN_DELAY"), mustDuration(t, env, "SHUTDOWN_TIMEOUT")
		grace := time.Duration(30) * time.Second
		if g := d.Spec.Template.Spec.TerminationGracePeriodSeconds; g != nil {
			grace = time.Duration(*g) * time.Second
		}
		if need := preStop + delay + timeout; grace <= need {
			t.Errorf("terminationGracePeriodSeconds %v, want more than preStop + SHUTDOWN_DELAY + SHUTDOWN_TIMEOUT = %v", grace, need)
		}
	})
}

// TestKubernetesEnv: every variable set is one the server reads, and every
// reference resolves.
func TestKubernetesEnv(t *testing.T) {
	eachOverlay(t, func(t *testing.T, b *bundle, o overlay) {
		d, c := b.app(t)
		var names []string
		for k := range b.configData(t, c) {
			names = append(names, k)
		}
		checkEnv(t, "ConfigMap (envFrom) of "+d.Name, names)
		names = names[:0]
		var secretKeys []string
		for _, e := range c.Env {
			names = append(names, e.Name)
			if e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
				continue
			}
			ref := e.ValueFrom.SecretKeyRef
			secretKeys = append(secretKeys, ref.Key)
			_, made := b.secretValue(ref.Name, ref.Key)
			switch {
			case o.externalSecret && made:
				t.Errorf("%s comes from Secret %s, which the overlay makes, but the overlay is meant to use an external one", e.Name, ref.Name)
			case !o.externalSecret && !made:
				t.Errorf("%s comes from Secret %s key %s, which the overlay does not make", e.Name, ref.Name, ref.Key)
			}
		}
		checkEnv(t, "Deployment "+d.Name+" env", names)
		if !slices.Contains(names, "SESSION_SECRET") {
			t.Error("SESSION_SECRET is not set from a Secret")
		}
		if o.externalSecret {
			doc := string(readRepoFile(t, overlaysDir+"/"+b.name+"/kustomization.yaml"))
			for _, k := range secretKeys {
				if !strings.Contains(doc, k) {
					t.Errorf("the external Secret's key %s is not documented in %s/kustomization.yaml", k, b.name)
				}
			}
		}
	})
}

// TestKubernetesRedis: in-cluster Redis is where REDIS_URL points, keeps
// its data, and only the app reaches it.
func TestKubernetesRedis(t *testing.T) {
	eachOverlay(t, func(t *testing.T, b *bundle, o overlay) {
		_, app := b.app(t)
		appLabels := labels.Set(b.appPodLabels(t))
		var redisPods []podTemplate
		for _, p := range b.pods() {
			if p.spec.Labels["app.kubernetes.io/name"] == "redis" {
				redisPods = append(redisPods, p)
			}
		}
		if !o.inClusterRedis {
			if len(redisPods) != 0 {
				t.Errorf("overlay runs Redis (%s) but is meant to use an external one", redisPods[0].owner)
			}
			return
		}
		if len(b.statefulsets) == 0 || len(redisPods) == 0 {
			t.Fatal("overlay is meant to run Redis as a StatefulSet, and does not")
		}
		for _, s := range b.statefulsets {
			if len(s.Spec.VolumeClaimTemplates) == 0 {
				t.Errorf("StatefulSet %s has no volumeClaimTemplates: Redis data would not persist", s.Name)
			}
			svc := b.service(s.Spec.ServiceName)
			if svc == nil || svc.Spec.ClusterIP != corev1.ClusterIPNone {
				t.Errorf("StatefulSet %s serviceName %q is not a headless Service of the overlay", s.Name, s.Spec.ServiceName)
			}
			if !hasArgs(s.Spec.Template.Spec.Containers[0].Args, "--appendonly", "yes") {
				t.Errorf("StatefulSet %s Redis args %q, want --appendonly yes", s.Name, s.Spec.Template.Spec.Containers[0].Args)
			}
		}

		// REDIS_URL names a Service of the overlay that selects Redis.
		var redisURL string
		for _, e := range app.Env {
			if e.Name == "REDIS_URL" && e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
				redisURL, _ = b.secretValue(e.ValueFrom.SecretKeyRef.Name, e.ValueFrom.SecretKeyRef.Key)
			}
		}
		u, err := url.Parse(redisURL)
		if err != nil || u.Hostname() == "" {
			t.Fatalf("REDIS_URL %q is not a redis:// URL", redisURL)
		}
		svc := b.service(u.Hostname())
		if svc == nil {
			t.Fatalf("REDIS_URL host %q is not a Service of the overlay", u.Hostname())
		}
		port := u.Port()
		if port == "" {
			port = "6379"
		}
		if !slices.ContainsFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return strconv.Itoa(int(p.Port)) == port }) {
			t.Errorf("REDIS_URL port %s is not a port of Service %s", port, svc.Name)
		}

		// Each Redis pod is selected by a policy that lets in only the app,
		// only on 6379.
		for _, rp := range redisPods {
			covered := false
			for _, np := range b.netpols {
				sel := selectorOf(t, "NetworkPolicy "+np.Name, &np.Spec.PodSelector)
				if !sel.Matches(labels.Set(rp.spec.Labels)) {
					continue
				}
				covered = covered || slices.Contains(np.Spec.PolicyTypes, "Ingress")
				for _, rule := range np.Spec.Ingress {
					if len(rule.From) == 0 {
						t.Errorf("NetworkPolicy %s lets every pod reach %s", np.Name, rp.owner)
					}
					for _, peer := range rule.From {
						if peer.PodSelector == nil || peer.NamespaceSelector != nil || peer.IPBlock != nil ||
							!selectorOf(t, "NetworkPolicy "+np.Name+" from", peer.PodSelector).Matches(appLabels) {
							t.Errorf("NetworkPolicy %s lets in %+v, want only the app's pods", np.Name, peer)
						}
					}
					if len(rule.Ports) != 1 || rule.Ports[0].Port == nil || rule.Ports[0].Port.String() != "6379" {
						t.Errorf("NetworkPolicy %s ports %+v, want only 6379", np.Name, rule.Ports)
					}
				}
			}
			if !covered {
				t.Errorf("no Ingress NetworkPolicy selects %s: any pod could reach Redis", rp.owner)
			}
		}
	})
}

// TestKubernetesSelectors: what schemas cannot see, that each selector
// picks the pods it is meant for.
func TestKubernetesSelectors(t *testing.T) {
	eachOverlay(t, func(t *testing.T, b *bundle, o overlay) {
		d, _ := b.app(t)
		podLabels := labels.Set(d.Spec.Template.Labels)
		if !selectorOf(t, "Deployment "+d.Name, d.Spec.Selector).Matches(podLabels) {
			t.Errorf("Deployment %s selector does not match its own pod labels", d.Name)
		}
		for _, s := range b.statefulsets {
			if !selectorOf(t, "StatefulSet "+s.Name, s.Spec.Selector).Matches(labels.Set(s.Spec.Template.Labels)) {
				t.Errorf("StatefulSet %s selector does not match its own pod labels", s.Name)
			}
		}
		for _, tsc := range d.Spec.Template.Spec.TopologySpreadConstraints {
			if !selectorOf(t, "topologySpreadConstraint "+tsc.TopologyKey, tsc.LabelSelector).Matches(podLabels) {
				t.Errorf("topologySpreadConstraint %s does not select the Deployment's pods", tsc.TopologyKey)
			}
		}
		if len(d.Spec.Template.Spec.TopologySpreadConstraints) == 0 {
			t.Error("no topologySpreadConstraints")
		}

		// Services: select pods, and their targetPort is a port of those pods.
		for _, s := range b.services {
			if len(s.Spec.Selector) == 0 {
				t.Errorf("Service %s has no selector", s.Name)
				continue
			}
			pods := b.selected(labels.SelectorFromSet(s.Spec.Selector))
			if len(pods) == 0 {
				t.Errorf("Service %s selects no pod of the overlay", s.Name)
				continue
			}
			for _, p := range s.Spec.Ports {
				if _, err := containerPort(pods[0].spec.Spec, p.TargetPort); err != nil {
					t.Errorf("Service %s port %s: %v in %s", s.Name, p.Name, err, pods[0].owner)
				}
			}
			if s.Spec.SessionAffinity == corev1.ServiceAffinityClientIP {
				t.Errorf("Service %s has ClientIP affinity: sessions are shared, none is needed", s.Name)
			}
		}
		appSvc := b.serviceFor(t, podLabels)
		if tp, err := containerPort(d.Spec.Template.Spec, appSvc.Spec.Ports[0].TargetPort); err != nil || tp != appPort {
			t.Errorf("Service %s sends to %d (%v), want %d", appSvc.Name, tp, err, appPort)
		}

		// Ingress → app Service, on a port it has; no affinity.
		if len(b.ingresses) == 0 {
			t.Error("no Ingress")
		}
		for _, ing := range b.ingresses {
			if k := hasAnnotation(ing.Annotations, "affinity", "sticky"); k != "" {
				t.Errorf("Ingress %s has annotation %s: no affinity is needed", ing.Name, k)
			}
			for _, r := range ing.Spec.Rules {
				for _, p := range r.HTTP.Paths {
					be := p.Backend.Service
					if be == nil || be.Name != appSvc.Name {
						t.Errorf("Ingress %s path %s goes to %+v, want Service %s", ing.Name, p.Path, be, appSvc.Name)
						continue
					}
					if !slices.ContainsFunc(appSvc.Spec.Ports, func(sp corev1.ServicePort) bool {
						return (be.Port.Name != "" && be.Port.Name == sp.Name) || (be.Port.Number != 0 && be.Port.Number == sp.Port)
					}) {
						t.Errorf("Ingress %s port %+v is not a port of Service %s", ing.Name, be.Port, appSvc.Name)
					}
				}
			}
		}

		// HPA scales the Deployment, from a count that survives a drain.
		if len(b.hpas) != 1 {
			t.Fatalf("%d HorizontalPodAutoscalers, want 1", len(b.hpas))
		}
		hpa := b.hpas[0]
		if ref := hpa.Spec.ScaleTargetRef; ref.Kind != "Deployment" || ref.Name != d.Name || ref.APIVersion != "apps/v1" {
			t.Errorf("HPA scales %+v, want apps/v1 Deployment %s", ref, d.Name)
		}
		minReplicas := int32(1)
		if hpa.Spec.MinReplicas != nil {
			minReplicas = *hpa.Spec.MinReplicas
		}
		if minReplicas < 2 || hpa.Spec.MaxReplicas < minReplicas {
			t.Errorf("HPA replicas %d..%d, want at least 2", minReplicas, hpa.Spec.MaxReplicas)
		}
		_, c := b.app(t)
		for _, m := range hpa.Spec.Metrics {
			if m.Resource != nil && c.Resources.Requests.Name(m.Resource.Name, "").IsZero() {
				t.Errorf("HPA scales on %s, which the container does not request", m.Resource.Name)
			}
		}

		// PDB: selects the app's pods and lets one go at a time.
		if len(b.pdbs) != 1 {
			t.Fatalf("%d PodDisruptionBudgets, want 1", len(b.pdbs))
		}
		pdb := b.pdbs[0]
		if !selectorOf(t, "PDB "+pdb.Name, pdb.Spec.Selector).Matches(podLabels) {
			t.Errorf("PDB %s does not select the Deployment's pods", pdb.Name)
		}
		switch {
		case pdb.Spec.MaxUnavailable != nil:
			if v, err := intstr.GetScaledValueFromIntOrPercent(pdb.Spec.MaxUnavailable, int(minReplicas), false); err != nil || v < 1 {
				t.Errorf("PDB maxUnavailable %s allows no disruption at %d replicas", pdb.Spec.MaxUnavailable.String(), minReplicas)
			}
		case pdb.Spec.MinAvailable != nil:
			if v, err := intstr.GetScaledValueFromIntOrPercent(pdb.Spec.MinAvailable, int(minReplicas), true); err != nil || v >= int(minReplicas) {
				t.Errorf("PDB minAvailable %s blocks every drain at %d replicas", pdb.Spec.MinAvailable.String(), minReplicas)
			}
		default:
			t.Errorf("PDB %s sets neither maxUnavailable nor minAvailable", pdb.Name)
		}

		// NetworkPolicies select pods of the overlay (the Redis one may
		// select none where Redis is external), and the app's lets in its port.
		for _, np := range b.netpols {
			sel := selectorOf(t, "NetworkPolicy "+np.Name, &np.Spec.PodSelector)
			if len(b.selected(sel)) == 0 && !(np.Spec.PodSelector.MatchLabels["app.kubernetes.io/name"] == "redis" && !o.inClusterRedis) {
				t.Errorf("NetworkPolicy %s selects no pod of the overlay", np.Name)
			}
			if sel.Matches(podLabels) {
				ok := false
				for _, r := range np.Spec.Ingress {
					ok = ok || slices.ContainsFunc(r.Ports, func(p networkingv1.NetworkPolicyPort) bool {
						return p.Port != nil && p.Port.String() == strconv.Itoa(appPort)
					})
				}
				if !ok {
					t.Errorf("NetworkPolicy %s selects the app's pods but does not let in port %d", np.Name, appPort)
				}
			}
		}
	})
}

// TestProdRedisURLDocumented: prod's kustomization shows each REDIS_URL form
// the server takes (one server, Sentinel, Cluster).
func TestProdRedisURLDocumented(t *testing.T) {
	doc := string(readRepoFile(t, overlaysDir+"/prod/kustomization.yaml"))
	for _, want := range []string{"rediss://", "master_name=", "addr="} {
		if !strings.Contains(doc, want) {
			t.Errorf("prod kustomization.yaml does not show a REDIS_URL with %q", want)
		}
	}
}

func (b *bundle) appPodLabels(tb testing.TB) map[string]string {
	d, _ := b.app(tb)
	return d.Spec.Template.Labels
}

// serviceFor returns the one Service selecting pods with these labels.
func (b *bundle) serviceFor(tb testing.TB, pod labels.Set) *corev1.Service {
	tb.Helper()
	var found *corev1.Service
	for _, s := range b.services {
		if len(s.Spec.Selector) > 0 && labels.SelectorFromSet(s.Spec.Selector).Matches(pod) {
			if found != nil {
				tb.Fatalf("Services %s and %s both select the app's pods", found.Name, s.Name)
			}
			found = s
		}
	}
	if found == nil || len(found.Spec.Ports) == 0 {
		tb.Fatal("no Service with a port selects the app's pods")
	}
	return found
}
