package main

import (
	"reflect"
	"sort"
)

// medianOf returns a T whose numeric fields are the medians of the runs'
// (field by field), whose bools are true only if true in every run, and
// whose string slices are the union of the runs' (errors).
func medianOf[T any](runs []T) T {
	var out T
	if len(runs) == 0 {
		return out
	}
	ov := reflect.ValueOf(&out).Elem()
	ov.Set(reflect.ValueOf(runs[0]))
	t := ov.Type()
	for i := range t.NumField() {
		f := ov.Field(i)
		if !f.CanSet() {
			continue
		}
		switch f.Kind() {
		case reflect.Float64:
			vals := make([]float64, len(runs))
			for j, r := range runs {
				vals[j] = reflect.ValueOf(r).Field(i).Float()
			}
			f.SetFloat(median(vals))
		case reflect.Int64, reflect.Int:
			vals := make([]float64, len(runs))
			for j, r := range runs {
				vals[j] = float64(reflect.ValueOf(r).Field(i).Int())
			}
			f.SetInt(int64(median(vals)))
		case reflect.Bool:
			all := true
			for _, r := range runs {
				all = all && reflect.ValueOf(r).Field(i).Bool()
			}
			f.SetBool(all)
		case reflect.Slice:
			if f.Type().Elem().Kind() != reflect.String {
				continue
			}
			var u []string
			for _, r := range runs {
				for k := range reflect.ValueOf(r).Field(i).Len() {
					u = append(u, reflect.ValueOf(r).Field(i).Index(k).String())
				}
			}
			f.Set(reflect.ValueOf(u))
		}
	}
	return out
}

// median of vals; the mean of the middle two for an even count.
func median(vals []float64) float64 {
	s := append([]float64(nil), vals...)
	sort.Float64s(s)
	n := len(s)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
