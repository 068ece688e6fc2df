package main

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The Strimzi, CloudNativePG and Prometheus Operator resources the manifests use, each decoded strictly
// against the fields of its CRD that this project sets, then checked for what the
// operator needs to act on it.

type kafkaNodePool struct {
	metav1.TypeMeta `json:",inline"`
	Metadata        metav1.ObjectMeta `json:"metadata"`
	Spec            *struct {
		Replicas *int32   `json:"replicas"`
		Roles    []string `json:"roles"`
		Storage  *struct {
			Type    string `json:"type"`
			Volumes []struct {
				ID            *int32 `json:"id"`
				Type          string `json:"type"`
				Size          string `json:"size"`
				DeleteClaim   bool   `json:"deleteClaim"`
				KraftMetadata string `json:"kraftMetadata"`
			} `json:"volumes"`
		} `json:"storage"`
		Resources map[string]map[string]string `json:"resources"`
	} `json:"spec"`
}

func checkKafkaNodePool(document []byte) []string {
	var pool kafkaNodePool
	if err := decodeStrict(document, &pool); err != nil {
		return []string{err.Error()}
	}
	problems := clusterLabel(pool.Metadata)
	if pool.Spec == nil {
		return append(problems, "spec is required")
	}
	if pool.Spec.Replicas == nil || *pool.Spec.Replicas < 1 {
		problems = append(problems, "spec.replicas must be set and at least 1")
	}
	if len(pool.Spec.Roles) == 0 {
		problems = append(problems, "spec.roles is required")
	}
	for _, role := range pool.Spec.Roles {
		if role != "controller" && role != "broker" {
			problems = append(problems, fmt.Sprintf("unknown role %q", role))
		}
	}
	if pool.Spec.Storage == nil || pool.Spec.Storage.Type != "jbod" || len(pool.Spec.Storage.Volumes) == 0 {
		problems = append(problems, "spec.storage must be jbod with at least one volume")
	} else {
		for i, volume := range pool.Spec.Storage.Volumes {
			if volume.ID == nil || volume.Type != "persistent-claim" || volume.Size == "" {
				problems = append(problems, fmt.Sprintf("spec.storage.volumes[%d]: id, type persistent-claim and size are required", i))
			}
		}
	}
	return problems
}

type kafkaCluster struct {
	metav1.TypeMeta `json:",inline"`
	Metadata        metav1.ObjectMeta `json:"metadata"`
	Spec            *struct {
		Kafka *struct {
			Version   string `json:"version"`
			Listeners []struct {
				Name           string `json:"name"`
				Port           int32  `json:"port"`
				Type           string `json:"type"`
				TLS            *bool  `json:"tls"`
				Authentication *struct {
					Type string `json:"type"`
				} `json:"authentication"`
				NetworkPolicyPeers []map[string]any `json:"networkPolicyPeers"`
			} `json:"listeners"`
			Authorization *struct {
				Type       string   `json:"type"`
				SuperUsers []string `json:"superUsers"`
			} `json:"authorization"`
			Config map[string]any `json:"config"`
		} `json:"kafka"`
		EntityOperator *struct {
			TopicOperator map[string]any `json:"topicOperator"`
			UserOperator  map[string]any `json:"userOperator"`
		} `json:"entityOperator"`
	} `json:"spec"`
}

// checkKafka checks a Strimzi Kafka cluster: KRaft with node pools, and every listener
// TLS with SASL/SCRAM or mTLS authentication, with authorization by ACLs.
func checkKafka(document []byte) []string {
	var cluster kafkaCluster
	if err := decodeStrict(document, &cluster); err != nil {
		return []string{err.Error()}
	}
	var problems []string
	for _, annotation := range []string{"strimzi.io/node-pools", "strimzi.io/kraft"} {
		if cluster.Metadata.Annotations[annotation] != "enabled" {
			problems = append(problems, fmt.Sprintf("annotation %s: enabled is required (KRaft with node pools)", annotation))
		}
	}
	if cluster.Spec == nil || cluster.Spec.Kafka == nil {
		return append(problems, "spec.kafka is required")
	}
	kafka := cluster.Spec.Kafka
	if kafka.Version == "" {
		problems = append(problems, "spec.kafka.version is required")
	}
	if len(kafka.Listeners) == 0 {
		problems = append(problems, "spec.kafka.listeners is required")
	}
	for _, listener := range kafka.Listeners {
		at := "listener " + listener.Name
		if listener.Name == "" || listener.Port < 9092 || listener.Type == "" {
			problems = append(problems, at+": name, type and a port of 9092 or more are required")
		}
		if listener.TLS == nil || !*listener.TLS {
			problems = append(problems, at+": must use TLS")
		}
		if listener.Authentication == nil || !slices.Contains([]string{"scram-sha-512", "tls"}, listener.Authentication.Type) {
			problems = append(problems, at+": authentication must be scram-sha-512 or tls")
		}
	}
	if kafka.Authorization == nil || kafka.Authorization.Type != "simple" {
		problems = append(problems, "spec.kafka.authorization.type must be simple (ACLs)")
	}
	if cluster.Spec.EntityOperator == nil || cluster.Spec.EntityOperator.TopicOperator == nil || cluster.Spec.EntityOperator.UserOperator == nil {
		problems = append(problems, "spec.entityOperator needs the topicOperator and the userOperator")
	}
	return problems
}

type kafkaUser struct {
	metav1.TypeMeta `json:",inline"`
	Metadata        metav1.ObjectMeta `json:"metadata"`
	Spec            *struct {
		Authentication *struct {
			Type string `json:"type"`
		} `json:"authentication"`
		Authorization *struct {
			Type string `json:"type"`
			ACLs []struct {
				Resource struct {
					Type        string `json:"type"`
					Name        string `json:"name"`
					PatternType string `json:"patternType"`
				} `json:"resource"`
				Type       string   `json:"type"`
				Host       string   `json:"host"`
				Operations []string `json:"operations"`
			} `json:"acls"`
		} `json:"authorization"`
	} `json:"spec"`
}

var aclOperations = " All Alter AlterConfigs ClusterAction Create Delete Describe DescribeConfigs IdempotentWrite Read Write "

// checkKafkaUser checks a Strimzi KafkaUser: SCRAM or TLS authentication, simple
// authorization, and every ACL naming a known resource type, pattern and operations.
func checkKafkaUser(document []byte) []string {
	var user kafkaUser
	if err := decodeStrict(document, &user); err != nil {
		return []string{err.Error()}
	}
	problems := clusterLabel(user.Metadata)
	if user.Spec == nil {
		return append(problems, "spec is required")
	}
	if user.Spec.Authentication == nil || !slices.Contains([]string{"scram-sha-512", "tls"}, user.Spec.Authentication.Type) {
		problems = append(problems, "spec.authentication.type must be scram-sha-512 or tls")
	}
	if user.Spec.Authorization == nil || user.Spec.Authorization.Type != "simple" || len(user.Spec.Authorization.ACLs) == 0 {
		return append(problems, "spec.authorization must be simple, with ACLs")
	}
	for i, acl := range user.Spec.Authorization.ACLs {
		at := fmt.Sprintf("spec.authorization.acls[%d]", i)
		resource := acl.Resource
		if !slices.Contains([]string{"topic", "group", "cluster", "transactionalId"}, resource.Type) {
			problems = append(problems, fmt.Sprintf("%s: unknown resource type %q", at, resource.Type))
		}
		if resource.Type != "cluster" && resource.Name == "" {
			problems = append(problems, at+": resource.name is required")
		}
		if resource.PatternType != "" && resource.PatternType != "literal" && resource.PatternType != "prefix" {
			problems = append(problems, fmt.Sprintf("%s: unknown patternType %q", at, resource.PatternType))
		}
		if acl.Type != "" && acl.Type != "allow" && acl.Type != "deny" {
			problems = append(problems, fmt.Sprintf("%s: unknown type %q", at, acl.Type))
		}
		if len(acl.Operations) == 0 {
			problems = append(problems, at+": operations are required")
		}
		for _, operation := range acl.Operations {
			if !strings.Contains(aclOperations, " "+operation+" ") {
				problems = append(problems, fmt.Sprintf("%s: unknown operation %q", at, operation))
			}
		}
	}
	return problems
}

type podMonitor struct {
	metav1.TypeMeta `json:",inline"`
	Metadata        metav1.ObjectMeta `json:"metadata"`
	Spec            *struct {
		JobLabel            string               `json:"jobLabel"`
		Selector            metav1.LabelSelector `json:"selector"`
		NamespaceSelector   map[string]any       `json:"namespaceSelector"`
		PodMetricsEndpoints []struct {
			Port     string `json:"port"`
			Path     string `json:"path"`
			Interval string `json:"interval"`
		} `json:"podMetricsEndpoints"`
	} `json:"spec"`
}

// checkPodMonitor checks a Prometheus Operator PodMonitor: a valid pod selector and
// endpoints that name a container port and a path.
func checkPodMonitor(document []byte) []string {
	var monitor podMonitor
	if err := decodeStrict(document, &monitor); err != nil {
		return []string{err.Error()}
	}
	if monitor.Spec == nil {
		return []string{"spec is required"}
	}
	var problems []string
	if _, err := metav1.LabelSelectorAsSelector(&monitor.Spec.Selector); err != nil {
		problems = append(problems, "spec.selector: "+err.Error())
	}
	if len(monitor.Spec.PodMetricsEndpoints) == 0 {
		problems = append(problems, "spec.podMetricsEndpoints is required")
	}
	for i, endpoint := range monitor.Spec.PodMetricsEndpoints {
		if endpoint.Port == "" || !strings.HasPrefix(endpoint.Path, "/") {
			problems = append(problems, fmt.Sprintf("spec.podMetricsEndpoints[%d]: a named port and an absolute path are required", i))
		}
	}
	return problems
}

func clusterLabel(metadata metav1.ObjectMeta) []string {
	if metadata.Labels["strimzi.io/cluster"] == "" {
		return []string{"label strimzi.io/cluster is required (the operator selects on it)"}
	}
	return nil
}

type postgresCluster struct {
	metav1.TypeMeta `json:",inline"`
	Metadata        metav1.ObjectMeta `json:"metadata"`
	Spec            *struct {
		Instances *int32 `json:"instances"`
		ImageName string `json:"imageName"`
		Bootstrap *struct {
			InitDB *struct {
				Database string `json:"database"`
				Owner    string `json:"owner"`
			} `json:"initdb"`
		} `json:"bootstrap"`
		Storage *struct {
			Size         string `json:"size"`
			StorageClass string `json:"storageClass"`
		} `json:"storage"`
		Resources map[string]map[string]string `json:"resources"`
	} `json:"spec"`
}

// postgresRelease is a PostgreSQL image pinned to a minor release (17.6) or a digest.
var postgresRelease = regexp.MustCompile(`:\d+\.\d+(\.\d+)?$|@sha256:[0-9a-f]{64}$`)

// checkPostgresCluster checks a CloudNativePG Cluster: instances, a pinned PostgreSQL
// image, the database and its owner made at bootstrap, persistent storage and limits.
func checkPostgresCluster(document []byte) []string {
	var cluster postgresCluster
	if err := decodeStrict(document, &cluster); err != nil {
		return []string{err.Error()}
	}
	spec := cluster.Spec
	if spec == nil {
		return []string{"spec is required"}
	}
	var problems []string
	if spec.Instances == nil || *spec.Instances < 1 {
		problems = append(problems, "spec.instances must be set and at least 1")
	}
	if !postgresRelease.MatchString(spec.ImageName) {
		problems = append(problems, fmt.Sprintf("spec.imageName %q must be pinned to a PostgreSQL release or a digest", spec.ImageName))
	}
	if spec.Bootstrap == nil || spec.Bootstrap.InitDB == nil || spec.Bootstrap.InitDB.Database == "" || spec.Bootstrap.InitDB.Owner == "" {
		problems = append(problems, "spec.bootstrap.initdb needs the database and its owner")
	}
	if spec.Storage == nil || spec.Storage.Size == "" {
		problems = append(problems, "spec.storage.size is required")
	}
	for _, bound := range []string{"requests", "limits"} {
		if spec.Resources[bound]["cpu"] == "" || spec.Resources[bound]["memory"] == "" {
			problems = append(problems, "spec.resources."+bound+" needs cpu and memory")
		}
	}
	return problems
}
