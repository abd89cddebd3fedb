package main

import (
	"context"

	"github.com/spf13/viper"

	"github.com/ncd-project/ncd/internal/model"
	"github.com/ncd-project/ncd/internal/usererr"
)

type reportOptions struct {
	Path    string
	Map     string
	MapRows int
}

type reportRun struct {
	Command, Input string
}

func reportOptionsFrom(v *viper.Viper, c common) (reportOptions, error) {
	return reportOptions{}, nil
}

func writeReport(ctx context.Context, app *App, c common, ro reportOptions, d *explainData, ex *explanation, run reportRun) error {
	return usererr.New("--report is not available yet")
}

func loadModelFile(path string) (*model.File, error) { return model.Load(path) }
