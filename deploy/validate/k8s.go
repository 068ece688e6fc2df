package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

type overlayReport struct {
	objects  int
	problems []string
}

// strictDecoder rejects unknown and duplicate fields in every built-in Kubernetes kind.
var strictDecoder = serializer.NewCodecFactory(scheme.Scheme, serializer.EnableStrict).UniversalDeserializer()

// customKinds are the operator resources the manifests use, checked against the fields
// of their CRDs that this project may set (anything else is reported).
var customKinds = map[string]func([]byte) []string{
	"kafka.strimzi.io/v1beta2/Kafka":                   checkKafka,
	"kafka.strimzi.io/v1beta2/KafkaNodePool":           checkKafkaNodePool,
	"kafka.strimzi.io/v1beta2/KafkaTopic":              checkKafkaTopic,
	"kafka.strimzi.io/v1beta2/KafkaUser":               checkKafkaUser,
	"mongodbcommunity.mongodb.com/v1/MongoDBCommunity": checkMongoDBCommunity,
	"monitoring.coreos.com/v1/PodMonitor":              checkPodMonitor,
	"postgresql.cnpg.io/v1/Cluster":                    checkPostgresCluster,
}

func validateOverlay(dir, renderDir string) (overlayReport, error) {
	var report overlayReport
	resources, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return report, fmt.Errorf("kustomize build %s: %w", dir, err)
	}
	if renderDir != "" {
		out, err := resources.AsYaml()
		if err != nil {
			return report, err
		}
		target := filepath.Join(renderDir, filepath.Base(filepath.Clean(dir))+".yaml")
		if err := os.WriteFile(target, out, 0o644); err != nil {
			return report, err
		}
	}
	var manifests []manifest
	for _, resource := range resources.Resources() {
		report.objects++
		document, err := resource.AsYAML()
		if err != nil {
			return report, err
		}
		id := resource.CurId().String()
		gvk := resource.GetGvk()
		kind := gvk.Group + "/" + gvk.Version + "/" + gvk.Kind
		for _, problem := range validateObject(kind, document) {
			report.problems = append(report.problems, id+": "+problem)
		}
		manifests = append(manifests, manifest{kind, id, document})
	}
	identity, err := checkIdentityProvider(manifests)
	report.problems = append(report.problems, identity...)
	return report, err
}

func validateObject(gvk string, document []byte) []string {
	if check, ok := customKinds[gvk]; ok {
		return check(document)
	}
	_, _, err := strictDecoder.Decode(document, nil, nil)
	switch {
	case err == nil:
		return nil
	case runtime.IsNotRegisteredError(err):
		return []string{"kind is neither a Kubernetes built-in nor a known operator resource"}
	default:
		return []string{err.Error()}
	}
}

// decodeStrict reads YAML into out, rejecting fields that out does not declare.
func decodeStrict(document []byte, out any) error {
	asJSON, err := yaml.YAMLToJSON(document)
	if err != nil {
		return err
	}
	decoder := json.NewDecoder(bytes.NewReader(asJSON))
	decoder.DisallowUnknownFields()
	return decoder.Decode(out)
}

type kafkaTopic struct {
	metav1.TypeMeta `json:",inline"`
	Metadata        metav1.ObjectMeta `json:"metadata"`
	Spec            *struct {
		TopicName  string         `json:"topicName"`
		Partitions *int32         `json:"partitions"`
		Replicas   *int32         `json:"replicas"`
		Config     map[string]any `json:"config"`
	} `json:"spec"`
}

var topicName = regexp.MustCompile(`^[a-zA-Z0-9._-]{1,249}$`)

// checkKafkaTopic checks a Strimzi KafkaTopic: the cluster label the Topic Operator
// selects on, a legal topic name, explicit partitions and replicas, scalar config values.
func checkKafkaTopic(document []byte) []string {
	var topic kafkaTopic
	if err := decodeStrict(document, &topic); err != nil {
		return []string{err.Error()}
	}
	var problems []string
	if topic.Metadata.Name == "" {
		problems = append(problems, "metadata.name is required")
	}
	if topic.Metadata.Labels["strimzi.io/cluster"] == "" {
		problems = append(problems, "label strimzi.io/cluster is required (the Topic Operator selects on it)")
	}
	if topic.Spec == nil {
		return append(problems, "spec is required")
	}
	name := topic.Spec.TopicName
	if name == "" {
		name = topic.Metadata.Name
	}
	if !topicName.MatchString(name) || name == "." || name == ".." {
		problems = append(problems, fmt.Sprintf("topic name %q is not a legal Kafka topic name", name))
	}
	if topic.Spec.Partitions == nil || *topic.Spec.Partitions < 1 {
		problems = append(problems, "spec.partitions must be set and at least 1")
	}
	if topic.Spec.Replicas == nil || *topic.Spec.Replicas < 1 || *topic.Spec.Replicas > 32767 {
		problems = append(problems, "spec.replicas must be set, between 1 and 32767")
	}
	for key, value := range topic.Spec.Config {
		switch value.(type) {
		case string, float64, bool:
		default:
			problems = append(problems, fmt.Sprintf("spec.config.%s must be a string, number or boolean", key))
		}
	}
	return problems
}

type mongoDBCommunity struct {
	metav1.TypeMeta `json:",inline"`
	Metadata        metav1.ObjectMeta `json:"metadata"`
	Spec            *struct {
		Members                     *int32 `json:"members"`
		Arbiters                    int32  `json:"arbiters"`
		Type                        string `json:"type"`
		Version                     string `json:"version"`
		FeatureCompatibilityVersion string `json:"featureCompatibilityVersion"`
		Security                    *struct {
			Authentication *struct {
				Modes              []string `json:"modes"`
				IgnoreUnknownUsers *bool    `json:"ignoreUnknownUsers"`
			} `json:"authentication"`
			TLS   json.RawMessage `json:"tls"`
			Roles json.RawMessage `json:"roles"`
		} `json:"security"`
		Users []struct {
			Name              string `json:"name"`
			DB                string `json:"db"`
			PasswordSecretRef *struct {
				Name string `json:"name"`
				Key  string `json:"key"`
			} `json:"passwordSecretRef"`
			Roles []struct {
				Name string `json:"name"`
				DB   string `json:"db"`
			} `json:"roles"`
			ScramCredentialsSecretName string `json:"scramCredentialsSecretName"`
			ConnectionStringSecretName string `json:"connectionStringSecretName"`
		} `json:"users"`
		AdditionalMongodConfig map[string]any  `json:"additionalMongodConfig"`
		StatefulSet            json.RawMessage `json:"statefulSet"`
		Prometheus             json.RawMessage `json:"prometheus"`
	} `json:"spec"`
}

var dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// checkMongoDBCommunity checks the fields the MongoDB Community Operator's CRD requires.
func checkMongoDBCommunity(document []byte) []string {
	var mongo mongoDBCommunity
	if err := decodeStrict(document, &mongo); err != nil {
		return []string{err.Error()}
	}
	if mongo.Spec == nil {
		return []string{"spec is required"}
	}
	spec := mongo.Spec
	var problems []string
	if spec.Members == nil || *spec.Members < 1 {
		problems = append(problems, "spec.members must be set and at least 1")
	}
	if spec.Type != "ReplicaSet" {
		problems = append(problems, `spec.type must be "ReplicaSet"`)
	}
	if spec.Version == "" {
		problems = append(problems, "spec.version is required")
	}
	if spec.Security == nil || spec.Security.Authentication == nil || len(spec.Security.Authentication.Modes) == 0 {
		problems = append(problems, "spec.security.authentication.modes is required")
	} else {
		for _, mode := range spec.Security.Authentication.Modes {
			if !strings.Contains(" SCRAM SCRAM-SHA-1 SCRAM-SHA-256 X509 ", " "+mode+" ") {
				problems = append(problems, fmt.Sprintf("unknown authentication mode %q", mode))
			}
		}
	}
	if len(spec.Users) == 0 {
		problems = append(problems, "spec.users is required")
	}
	for i, user := range spec.Users {
		at := fmt.Sprintf("spec.users[%d]", i)
		if user.Name == "" || user.DB == "" {
			problems = append(problems, at+": name and db are required")
		}
		if user.PasswordSecretRef == nil || user.PasswordSecretRef.Name == "" {
			problems = append(problems, at+": passwordSecretRef.name is required")
		}
		if !dnsLabel.MatchString(user.ScramCredentialsSecretName) {
			problems = append(problems, at+": scramCredentialsSecretName must be a lowercase DNS label")
		}
		if len(user.Roles) == 0 {
			problems = append(problems, at+": roles are required")
		}
		for j, role := range user.Roles {
			if role.Name == "" || role.DB == "" {
				problems = append(problems, fmt.Sprintf("%s.roles[%d]: name and db are required", at, j))
			}
		}
	}
	return problems
}
