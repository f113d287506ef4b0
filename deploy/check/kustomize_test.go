package check

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	kjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

const overlaysDir = "deploy/k8s/overlays"

// overlay says what differs, on purpose, between overlays.
type overlay struct {
	// externalSecret: the Secret is made outside the repository (by hand or
	// a secret manager); the overlay's kustomization.yaml must name its keys.
	externalSecret bool
	// inClusterRedis: the overlay runs Redis itself (a StatefulSet).
	inClusterRedis bool
}

var overlays = map[string]overlay{
	"dev":  {externalSecret: false, inClusterRedis: true},
	"prod": {externalSecret: true, inClusterRedis: false},
}

// bundle is one overlay's output, decoded into the Kubernetes API types.
type bundle struct {
	name         string
	all          []runtime.Object
	deployments  []*appsv1.Deployment
	statefulsets []*appsv1.StatefulSet
	services     []*corev1.Service
	configMaps   []*corev1.ConfigMap
	secrets      []*corev1.Secret
	ingresses    []*networkingv1.Ingress
	hpas         []*autoscalingv2.HorizontalPodAutoscaler
	pdbs         []*policyv1.PodDisruptionBudget
	netpols      []*networkingv1.NetworkPolicy
	namespaces   []*corev1.Namespace
}

// codec decodes strictly: an unknown or duplicated field, or a kind not in
// the scheme, is an error.
func codec(tb testing.TB) runtime.Decoder {
	tb.Helper()
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme, appsv1.AddToScheme, networkingv1.AddToScheme,
		autoscalingv2.AddToScheme, policyv1.AddToScheme,
	} {
		if err := add(s); err != nil {
			tb.Fatal(err)
		}
	}
	return kjson.NewSerializerWithOptions(kjson.DefaultMetaFactory, s, s, kjson.SerializerOptions{Strict: true})
}

// build runs kustomize in-process on one overlay and decodes every object.
func build(tb testing.TB, name string) *bundle {
	tb.Helper()
	dir := filepath.Join(repoRoot(tb), overlaysDir, name)
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		tb.Fatalf("kustomize build %s: %v", dir, err)
	}
	dec := codec(tb)
	b := &bundle{name: name}
	for _, r := range m.Resources() {
		js, err := r.MarshalJSON()
		if err != nil {
			tb.Fatal(err)
		}
		obj, _, err := dec.Decode(js, nil, nil)
		if err != nil {
			tb.Errorf("overlay %s: %s %s does not decode strictly: %v", name, r.GetKind(), r.GetName(), err)
			continue
		}
		b.all = append(b.all, obj)
		switch o := obj.(type) {
		case *appsv1.Deployment:
			b.deployments = append(b.deployments, o)
		case *appsv1.StatefulSet:
			b.statefulsets = append(b.statefulsets, o)
		case *corev1.Service:
			b.services = append(b.services, o)
		case *corev1.ConfigMap:
			b.configMaps = append(b.configMaps, o)
		case *corev1.Secret:
			b.secrets = append(b.secrets, o)
		case *networkingv1.Ingress:
			b.ingresses = append(b.ingresses, o)
		case *autoscalingv2.HorizontalPodAutoscaler:
			b.hpas = append(b.hpas, o)
		case *policyv1.PodDisruptionBudget:
			b.pdbs = append(b.pdbs, o)
		case *networkingv1.NetworkPolicy:
			b.netpols = append(b.netpols, o)
		case *corev1.Namespace:
			b.namespaces = append(b.namespaces, o)
		default:
			tb.Errorf("overlay %s: %T %s is a kind these checks do not know", name, obj, r.GetName())
		}
	}
	if tb.Failed() {
		tb.FailNow()
	}
	return b
}

// eachOverlay runs f on every overlay folder, and fails for a folder the
// table above does not describe.
func eachOverlay(t *testing.T, f func(t *testing.T, b *bundle, o overlay)) {
	entries, err := os.ReadDir(filepath.Join(repoRoot(t), overlaysDir))
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		seen = append(seen, e.Name())
		o, ok := overlays[e.Name()]
		if !ok {
			t.Errorf("overlay %s is not described in kustomize_test.go's overlays table", e.Name())
			continue
		}
		t.Run(e.Name(), func(t *testing.T) { f(t, build(t, e.Name()), o) })
	}
	for name := range overlays {
		if !slices.Contains(seen, name) {
			t.Errorf("overlay %s is missing from %s", name, overlaysDir)
		}
	}
}

// podTemplate is a workload's pod template.
type podTemplate struct {
	owner string
	spec  corev1.PodTemplateSpec
}

func (b *bundle) pods() []podTemplate {
	var out []podTemplate
	for _, d := range b.deployments {
		out = append(out, podTemplate{"Deployment/" + d.Name, d.Spec.Template})
	}
	for _, s := range b.statefulsets {
		out = append(out, podTemplate{"StatefulSet/" + s.Name, s.Spec.Template})
	}
	return out
}

// app returns the sessiond Deployment and its server container.
func (b *bundle) app(tb testing.TB) (*appsv1.Deployment, *corev1.Container) {
	tb.Helper()
	var found *appsv1.Deployment
	for _, d := range b.deployments {
		if d.Spec.Template.Labels["app.kubernetes.io/name"] == "sessiond" {
			if found != nil {
				tb.Fatalf("overlay %s has more than one sessiond Deployment", b.name)
			}
			found = d
		}
	}
	if found == nil {
		tb.Fatalf("overlay %s has no Deployment with pod label app.kubernetes.io/name=sessiond", b.name)
	}
	for i, c := range found.Spec.Template.Spec.Containers {
		if repo, _ := SplitImage(c.Image); repo == imageRepo {
			return found, &found.Spec.Template.Spec.Containers[i]
		}
	}
	tb.Fatalf("Deployment %s has no container of image %s", found.Name, imageRepo)
	return nil, nil
}

func selectorOf(tb testing.TB, what string, ls *metav1.LabelSelector) labels.Selector {
	tb.Helper()
	if ls == nil || (len(ls.MatchLabels) == 0 && len(ls.MatchExpressions) == 0) {
		tb.Fatalf("%s has an empty selector (it would select every pod)", what)
	}
	sel, err := metav1.LabelSelectorAsSelector(ls)
	if err != nil {
		tb.Fatalf("%s selector: %v", what, err)
	}
	return sel
}

// selected returns the pod templates sel matches.
func (b *bundle) selected(sel labels.Selector) []podTemplate {
	var out []podTemplate
	for _, p := range b.pods() {
		if sel.Matches(labels.Set(p.spec.Labels)) {
			out = append(out, p)
		}
	}
	return out
}

// containerPort resolves a numeric or named port against a pod's containers.
func containerPort(p corev1.PodSpec, port intstr.IntOrString) (int32, error) {
	if port.Type == intstr.Int {
		return port.IntVal, nil
	}
	for _, c := range p.Containers {
		for _, cp := range c.Ports {
			if cp.Name == port.StrVal {
				return cp.ContainerPort, nil
			}
		}
	}
	return 0, fmt.Errorf("no container port named %q", port.StrVal)
}

// configData merges the ConfigMaps the container takes with envFrom.
func (b *bundle) configData(tb testing.TB, c *corev1.Container) map[string]string {
	tb.Helper()
	data := map[string]string{}
	for _, ef := range c.EnvFrom {
		if ef.ConfigMapRef == nil {
			continue
		}
		i := slices.IndexFunc(b.configMaps, func(cm *corev1.ConfigMap) bool { return cm.Name == ef.ConfigMapRef.Name })
		if i < 0 {
			tb.Errorf("container %s takes ConfigMap %q, which the overlay does not make", c.Name, ef.ConfigMapRef.Name)
			continue
		}
		for k, v := range b.configMaps[i].Data {
			data[ef.Prefix+k] = v
		}
	}
	return data
}

// secretValue returns the value of a Secret key the overlay makes.
func (b *bundle) secretValue(name, key string) (string, bool) {
	for _, s := range b.secrets {
		if s.Name == name {
			if v, ok := s.Data[key]; ok {
				return string(v), true
			}
			v, ok := s.StringData[key]
			return v, ok
		}
	}
	return "", false
}

func (b *bundle) service(name string) *corev1.Service {
	for _, s := range b.services {
		if s.Name == name {
			return s
		}
	}
	return nil
}

func hasAnnotation(m map[string]string, words ...string) string {
	for k, v := range m {
		for _, w := range words {
			if strings.Contains(strings.ToLower(k+"="+v), w) {
				return k
			}
		}
	}
	return ""
}
