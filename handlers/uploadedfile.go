package handlers

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/editwatch/editwatch/extendapi"
)

// presignedKindFile marks an uploaded file's entry in the presigned cache
// (runID holds the file ID).
const presignedKindFile = "file"

// uploadedFile is GET /files/:fileId: a PDF uploaded to Extend, streamed
// like a run's files (same workspace check, any role, audited once per
// view), for the preview of detected fields on the new-run page.
func (a *dashboard) uploadedFile(c echo.Context) error {
	id := c.Param("fileId")
	if !runIDPattern.MatchString(id) {
		return &PageError{Status: http.StatusNotFound, Heading: "File not found", Category: "not found",
			Explanation: "That is not a file ID: Extend's look like file_xK9mLPqRtN3vS8wF5hB2cQ."}
	}
	conn, cl, err := a.workspaceClient(c)
	if errors.Is(err, errNoConnection) {
		err = &PageError{Status: http.StatusForbidden, Heading: "No workspace connected", Category: "not connected",
			Explanation: "Connect the workspace this file belongs to, then open the link again."}
	}
	if err != nil {
		return err
	}
	key := presignedKey{tenant: conn.Tenant, runID: id, kind: presignedKindFile}
	return a.streamFile(c, fileStream{
		tenant: conn.Tenant, target: id, key: key,
		resolve: func() (presignedFile, error) {
			file, err := cl.GetFile(c.Request().Context(), id)
			if errors.Is(err, extendapi.ErrNotFound) {
				return presignedFile{}, &PageError{Status: http.StatusNotFound, Heading: "File not found", Category: "not found",
					Explanation: "Extend has no file " + id + " in this workspace."}
			}
			if err != nil {
				return presignedFile{}, err
			}
			return presignedFile{url: file.PresignedURL, fileID: id, name: orDefault(file.Name, id+".pdf")}, nil
		},
		auditDetail: func(f presignedFile) string { return "viewed uploaded file " + f.fileID + " (" + f.name + ")" },
		refusal:     func(status int) error { return fileStoreRefusal(status, "file "+id) },
	})
}
